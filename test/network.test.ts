/**
 * Network transports through the harness: every network backend (the NanoMQ broker, NATS,
 * JetStream, Redis Streams) runs every workload with verified delivery and the server's own
 * figures; the server the harness starts is stopped; a scenario can name a server instead; and
 * a server that corrupts messages fails the case (the checks can fail, not only pass).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../broker/server.js';
import { MemoryStorage, type Storage, type TopicLog } from '../broker/storage.js';
import { summaryTable } from '../harness/cli/summary-table.js';
import { caseRow } from '../harness/report/case-rows.js';
import { readResultFile } from '../harness/results/read-result.js';
import { ceilingNote } from '../harness/results/server-ceiling.js';
import type { ResultFile } from '../harness/results/types.js';
import { parseScenario, type ScenarioError } from '../harness/scenario/load.js';
import type { RunningServer } from '../implementations/network-contract.js';
import { backendIds, networkBackends } from '../implementations/registry.js';
import { EnvelopeCodec, HEADER_BYTES } from '../wire/envelope.js';
import { formatCount } from '../wire/units.js';
import { tempDir } from './support/cli.js';
import { runScenarioText } from './support/scenarios.js';

const run = (text: string) => runScenarioText(text, 'network.yaml');

const workloads = `
workloads:
  - kind: throughput
  - kind: ping-pong
  - kind: rate
    rate: 20k
  - kind: fan-out
    subscribers: 2
  - kind: consumer-group
    members: 3
  - kind: consumer-group
    members: 3
    fault: kill-member
`;

/**
 * One suite for every network backend, as JCTools runs one sanity suite against every queue.
 * The brokers' servers come from the system (Debian's nats-server and redis-server); CI
 * installs them and sets NANOMQ_REQUIRE_SERVERS, so a missing one fails there instead of
 * skipping quietly.
 */
const requireServers = process.env.NANOMQ_REQUIRE_SERVERS === '1';
for (const backend of networkBackends) {
  const availability = backend.available();
  if (!availability.available && requireServers) throw new Error(`${backend.id}: ${availability.reason}`);
  const survivesKilledMember = backend.unsupported?.({ workload: 'consumer-group', fault: 'kill-member' }) === undefined;

  describe.skipIf(!availability.available)(`the ${backend.id} backend through the harness (a server started for the suite)`, () => {
    let result: ResultFile;
    beforeAll(async () => {
      result = await run(`name: net
duration: 600ms
warmup: 200ms
verify: crc
matrix:
  backend: [${backend.id}]
  payload: [64]
  batch: [16]
  wait: [block]
${workloads}`);
    }, 180_000);

    it.runIf(backend.id === 'nats')("carries nats-server's raw ceiling, and prints the throughput as a fraction of it", () => {
      const [ceiling] = result.environment.serverCeilings!;
      expect(ceiling).toMatchObject({ payload: 64, server: expect.stringMatching(/nats-server/) });
      expect(ceiling.runs).toHaveLength(3);
      expect(ceiling.msgsPerSec).toBeGreaterThan(0);
      const throughput = result.cases.find((c) => c.workload === 'throughput')!;
      const ratio = (throughput.summary!.msgsPerSec! / ceiling.msgsPerSec).toFixed(2);
      expect(caseRow(throughput, undefined, undefined, result.environment.serverCeilings).cells.at(-1)).toContain(
        ceilingNote(throughput.summary!.msgsPerSec!, ceiling),
      );
      const table = summaryTable(result);
      expect(table).toMatch(/reference: the raw ceiling of nats-server/);
      expect(table).toContain(`${formatCount(throughput.summary!.msgsPerSec!)} msg/s, ${ratio}×`);
      // Not a fan-out or a group: their msg/s counts more deliveries than one publisher sends.
      const fanOut = result.cases.find((c) => c.workload === 'fan-out')!;
      expect(caseRow(fanOut, undefined, undefined, result.environment.serverCeilings).cells.at(-1)).not.toMatch(/raw ceiling/);
    });

    it('writes a result file that the reader, reports and compare accept', () => {
      const path = join(tempDir('net'), 'net.json');
      writeFileSync(path, JSON.stringify(result));
      expect(readResultFile(path).cases).toHaveLength(6);
    });

    it('runs throughput, ping-pong, rate, fan-out and consumer groups with every message verified', () => {
      expect(result.cases.map((c) => c.workload)).toEqual(['throughput', 'ping-pong', 'rate', 'fan-out', 'consumer-group', 'consumer-group']);
      for (const c of result.cases) {
        if (c.params.fault && !survivesKilledMember) continue;
        expect(c.status, `${c.id}: ${c.reason}`).toBe('ok');
        const t = c.trials[0];
        expect(t.correctness!.lost).toBe(0);
        expect(t.correctness!.corrupt).toBe(0);
        expect(t.msgsPerSec).toBeGreaterThan(0);
        expect(t.latencyNs!.count).toBeGreaterThan(0);
      }
    });

    it('counts the ping-pong client waiting for its replies, as the in-process client does', () => {
      const t = result.cases.find((c) => c.workload === 'ping-pong')!.trials[0];
      // Every request's reply crosses the network: the client waits for each burst's replies.
      expect(t.wait!.producer.stalls).toBeGreaterThan(0);
      expect(t.wait!.producer.wakes).toBeGreaterThan(0);
    });

    it('counts fan-out deliveries per subscriber, and a group exactly once without faults', () => {
      const fanOut = result.cases.find((c) => c.workload === 'fan-out')!.trials[0].correctness!;
      expect(fanOut.received).toBe(2 * fanOut.sent);
      const group = result.cases.find((c) => c.workload === 'consumer-group' && !c.params.fault)!.trials[0].correctness!;
      expect(group.received).toBe(group.sent);
      expect(group.duplicated).toBe(0);
    });

    it.runIf(survivesKilledMember)('a member killed halfway loses nothing; what it held unacknowledged is redelivered and counted', () => {
      const c = result.cases.find((k) => k.params.fault === 'kill-member')!;
      const t = c.trials[0];
      const k = t.correctness!;
      expect(k.lost).toBe(0);
      // Every message reached some member; repeats (redelivered batches the dead member had handled) are counted apart.
      expect(k.received - k.duplicated).toBe(k.sent);
      // Whether the member held unacknowledged messages at the instant it died is timing: the
      // broker's redelivery is proven deterministically in broker.test.ts ("dies mid-batch").
      // Here, what was redelivered must at least cover every duplicate the ledger saw.
      expect(t.backendCounters!.redelivered ?? 0).toBeGreaterThanOrEqual(k.duplicated > 0 ? 1 : 0);
    });

    it.runIf(!survivesKilledMember)('skips a killed member where the system cannot survive one, saying why', () => {
      const c = result.cases.find((k) => k.params.fault === 'kill-member')!;
      expect(c.status).toBe('skipped');
      expect(c.reason).toMatch(/at most once/);
    });

    it("records the server's CPU (per million messages too), peak RSS and run delay, and stops it after the suite", () => {
      for (const c of result.cases.filter((k) => k.status !== 'skipped')) {
        const s = c.trials[0].server!;
        expect(s.cpuPct).toBeGreaterThan(0);
        expect(s.peakRssBytes).toBeGreaterThan(1024 * 1024);
        expect(s.runDelayPct).toBeGreaterThanOrEqual(0);
        // CPU per million messages is the CPU over the messages of the same window.
        expect(s.cpuSecondsPerMillionMessages).toBeCloseTo((s.cpuPct! / 100) * (1e6 / c.trials[0].msgsPerSec!), 9);
        expect(c.summary!.server!.cpuSecondsPerMillionMessages).toBeGreaterThan(0);
        // The busy threads count the server's: a flag on a 2-core machine says so.
        expect(c.busyThreads).toBeGreaterThanOrEqual(3);
      }
      // Ping-pong over the network carries the sockets' own round trip, measured in the same run.
      const floor = result.environment.networkFloor!;
      expect(floor.roundTrips).toBeGreaterThan(1000);
      expect(floor.p50).toBeGreaterThan(1000);
      const server = result.environment.servers![backend.id];
      expect(server.startedByHarness).toBe(true);
      expect(server.pids!.length).toBe(1);
      // Gone: signal 0 to a process that no longer exists throws ESRCH.
      for (const pid of server.pids!) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    });
  });
}

/**
 * The contract for a visitor that throws (network-contract.ts, AsyncConsumer.start), against
 * each backend's own server: the consumer stops at the throw, says so once, later, and closes;
 * a system that redelivers gives the message that threw to another member of the group.
 */
for (const backend of networkBackends) {
  const redelivers = backend.unsupported?.({ workload: 'consumer-group', fault: 'kill-member' }) === undefined;
  describe.skipIf(!backend.available().available)(`${backend.id}: a consumer whose visitor throws`, () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await backend.startServer!({ durability: 'none', nodes: 1 });
    }, 60_000);
    afterAll(() => server?.stop());

    it(`stops at the throw, reports it once, later, and closes${redelivers ? '; the group gives the message to another member' : ''}`, async () => {
      const length = HEADER_BYTES + 16;
      const d = backend.create({ capacityBytes: 1 << 20, producers: 1, consumers: 2, maxMessageBytes: length, server });
      const producer = await backend.producer(d, 0);
      let sent = 0;
      const send = async (n: number) => {
        for (const end = sent + n; sent < end; ) {
          const k = producer.claim(end - sent, length);
          if (k === 0) {
            await producer.awaitSpace(50);
            continue;
          }
          for (let i = 0; i < k; i++) new EnvelopeCodec(producer.buffer).writeBareHeader(producer.offsetOf(i), 0, sent + i, 16);
          producer.commit();
          sent += k;
        }
        producer.flush();
      };
      const sequence = (bytes: Uint8Array, offset: number) => new EnvelopeCodec(bytes).sequence(offset);

      // Member A throws at its fifth message, alone in the group.
      const a = await backend.consumer(d, 0, { group: 'g' });
      const visitedByA: number[] = [];
      const errors: unknown[] = [];
      const thrown = new Error('the visitor failed');
      await a.start(
        (bytes, offset) => {
          visitedByA.push(sequence(bytes, offset));
          if (visitedByA.length === 5) throw thrown;
        },
        (error) => errors.push(error),
      );
      await send(20);
      await until(() => errors.length > 0, 10_000);
      // B joins; more arrives; nothing more reaches A's visitor.
      const b = await backend.consumer(d, 1, { group: 'g' });
      const receivedByB = new Set<number>();
      await b.start(
        (bytes, offset) => {
          receivedByB.add(sequence(bytes, offset));
        },
        (error) => errors.push(error),
      );
      await send(20);
      const tookNormally = visitedByA.slice(0, 4);
      const everything = () => Array.from({ length: sent }, (_, i) => i).every((i) => receivedByB.has(i) || tookNormally.includes(i));
      if (redelivers) await until(() => everything() && receivedByB.has(visitedByA[4]), 15_000);
      else await sleep(300);
      expect(visitedByA).toHaveLength(5);
      expect(errors).toEqual([thrown]);
      if (redelivers) expect(receivedByB.has(visitedByA[4])).toBe(true);
      await a.close();
      await b.close();
      await producer.close();
      await backend.destroy?.(d);
    }, 60_000);
  });
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await sleep(20);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a broker whose server is not installed', () => {
  it('is listed unavailable with the reason and the install command, and its cases are skipped with it', async () => {
    const saved = { nats: process.env.NANOMQ_NATS_SERVER, redis: process.env.NANOMQ_REDIS_SERVER };
    process.env.NANOMQ_NATS_SERVER = '/nonexistent/nats-server';
    process.env.NANOMQ_REDIS_SERVER = '/nonexistent/redis-server';
    try {
      for (const id of ['nats', 'nats-jetstream', 'redis-streams']) {
        const availability = networkBackends.find((b) => b.id === id)!.available();
        expect(availability.available).toBe(false);
        expect(availability.reason).toMatch(/not installed.*apt-get install (nats|redis)-server/);
      }
      const r = await run('name: missing\nmatrix:\n  backend: [nats, redis-streams]\nworkloads:\n  - kind: throughput\n');
      expect(r.cases.map((c) => c.status)).toEqual(['skipped', 'skipped']);
      expect(r.cases[0].reason).toMatch(/apt-get install nats-server/);
    } finally {
      for (const [key, value] of [
        ['NANOMQ_NATS_SERVER', saved.nats],
        ['NANOMQ_REDIS_SERVER', saved.redis],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});

describe('what a network backend cannot honour', () => {
  it('skips what the broker cannot honour, and in-process queues skip fan-out and groups, with the reason', async () => {
    const r = await run(`name: skips
duration: 100ms
warmup: 10ms
matrix:
  backend: [broker, sab-spsc]
  wait: [park]
workloads:
  - kind: fan-out
    subscribers: 2
`);
    expect(r.cases.map((c) => c.status)).toEqual(['skipped', 'skipped']);
    expect(r.cases[0].reason).toMatch(/spin \(poll\) or block/);
    expect(r.cases[1].reason).toMatch(/fan-out needs topics/);
  });
});

/** A log that flips one payload byte in every 50th batch it stores: a server that corrupts. */
class CorruptingStorage implements Storage {
  private readonly inner = new MemoryStorage();
  private appended = 0;
  topic(name: string): TopicLog {
    const log = this.inner.topic(name);
    const original = log.append.bind(log);
    log.append = (records, count, stored) => {
      if (++this.appended % 50 === 0) records[HEADER_BYTES + 1] ^= 0xff;
      return original(records, count, stored);
    };
    return log;
  }
  restored(): { name: string; groups: ReadonlyMap<string, number> }[] {
    return [];
  }
  delete(name: string): void {
    this.inner.delete(name);
  }
  close(): void {}
}

describe('a server named by the scenario (servers:)', () => {
  let honest: Broker;
  let corrupting: Broker;
  beforeAll(async () => {
    honest = await Broker.start();
    corrupting = await Broker.start({ storage: new CorruptingStorage() });
  });
  afterAll(async () => {
    await honest.close(100);
    await corrupting.close(100);
  });

  const scenario = (url: string) => `name: named
duration: 300ms
warmup: 100ms
verify: crc
servers:
  broker: { url: ${url} }
matrix:
  backend: [broker]
  payload: [64]
  batch: [8]
  wait: [block]
workloads:
  - kind: throughput
  - kind: consumer-group
    members: 2
`;

  it('is used instead of starting one, its figures are not claimed, and its token is not written', async () => {
    const r = await run(scenario(honest.url).replace(`url: ${honest.url} }`, `url: ${honest.url}, token: not-for-results }`));
    expect(JSON.stringify(r)).not.toContain('not-for-results');
    for (const c of r.cases) {
      expect(c.status, c.reason).toBe('ok');
      expect(c.trials[0].server).toBeUndefined();
    }
    expect(r.environment.servers!.broker).toEqual(expect.objectContaining({ url: honest.url, startedByHarness: false }));
    expect(honest.statsNow().published).toBeGreaterThan(0);
  }, 60_000);

  it('fails the cases of a server that corrupts messages, naming the corruption', async () => {
    const r = await run(scenario(corrupting.url));
    for (const c of r.cases) {
      expect(c.status).toBe('failed');
      expect(c.reason).toMatch(/corrupt/);
      expect(c.trials[0].correctness!.corrupt).toBeGreaterThan(0);
    }
  }, 60_000);
});

describe('scenario files with network workloads', () => {
  const problems = (text: string) => {
    try {
      parseScenario(text, 'n.yaml', backendIds());
    } catch (error) {
      return (error as ScenarioError).message;
    }
    return '';
  };
  const base = 'name: n\nmatrix:\n  backend: [broker]\n';
  it('names the line and key of a bad subscriber count, a lone member killed, a bad server entry', () => {
    expect(problems(`${base}workloads:\n  - kind: fan-out\n    subscribers: 0\n`)).toMatch(/n\.yaml:6:\d+: workloads\[0\]\.subscribers/);
    expect(problems(`${base}workloads:\n  - kind: consumer-group\n    members: 1\n    fault: kill-member\n`)).toMatch(
      /fault: kill-member needs at least 2 members/,
    );
    expect(problems(`${base}servers:\n  sab-spsc: { url: tcp://127.0.0.1:1 }\nworkloads:\n  - kind: throughput\n`)).toMatch(
      /servers\.sab-spsc: sab-spsc runs in this process/,
    );
    expect(problems(`${base}servers:\n  broker: { url: http://x:1 }\nworkloads:\n  - kind: throughput\n`)).toMatch(
      /servers\.broker\.url: must be tcp:\/\/host:port/,
    );
  });
});
