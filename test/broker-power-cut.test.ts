/**
 * The broker on its write-ahead log through power cuts (issue 27's crash test, beyond SIGKILL):
 * the broker runs in this process on a file system that forgets what was not synced
 * (support/power-cut-files.ts). Two publishers send batches of messages with payloads up to
 * 64 KiB and wait for each PUBACK, while a consumer group member receives and acknowledges;
 * at a random moment the power goes (the file system as the disk has it is kept, everything
 * else is abandoned), and a broker starts on what the disk kept. In half the runs the member
 * leaves before the publishing, so the group's backlog must outlive rolls and retention. Segments are small (64 KiB) so
 * they roll and are retained many times a run; retention must not delete what the group's
 * committed offset still needs.
 *
 * The promise checked: every message the broker acknowledged reaches the group after the last
 * restart (at least once), every delivered payload is intact (its content follows from its id,
 * and the envelope CRC holds), and each publisher's messages reach the group in order except
 * redelivered batches.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BrokerClient, readMessage } from '../broker/client.js';
import { LogStorage } from '../broker/log-storage.js';
import { Broker } from '../broker/server.js';
import { seededRandom } from '../harness/metrics/stats.js';
import type { DurabilityPolicy } from '../wal/log.js';
import { tempDir } from './support/cli.js';
import { PowerCutFiles } from './support/power-cut-files.js';

const CUTS = 50;
const DIR = '/broker-data';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Message `id`: 4 bytes of id, then bytes that follow from it (up to 64 KiB in all). */
function payloadOf(id: number, length: number): Uint8Array {
  const p = new Uint8Array(Math.max(8, length));
  const view = new DataView(p.buffer);
  view.setUint32(0, id, true);
  view.setUint32(4, p.length, true);
  for (let i = 8; i < p.length; i++) p[i] = (id * 31 + i) & 0xff;
  return p;
}

function intactPayload(payload: Uint8Array): number | undefined {
  if (payload.length < 8) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const id = view.getUint32(0, true);
  if (view.getUint32(4, true) !== payload.length) return undefined;
  for (let i = 8; i < payload.length; i++) if (payload[i] !== ((id * 31 + i) & 0xff)) return undefined;
  return id;
}

async function startBroker(files: PowerCutFiles, policy: DurabilityPolicy): Promise<Broker> {
  const storage = new LogStorage(DIR, { durability: policy, files, segmentBytes: 64 * 1024, retentionBytes: 256 * 1024 });
  return Broker.start({ storage });
}

describe.each(['batch', 'always'] as const)('the broker on its log under %s, through power cuts', (policy) => {
  it(`keeps every acknowledged message through ${CUTS} power cuts, with a group acknowledging meanwhile`, async () => {
    const random = seededRandom(policy === 'batch' ? 2701 : 2702);
    let files = new PowerCutFiles();
    const acknowledged = new Set<number>();
    const received = new Map<number, number>();
    let corrupt = 0;
    let outOfOrder = 0;
    let next = 0;
    let torn = 0;
    const lastFrom = new Map<number, number>();
    const receive = (bytes: Uint8Array, offset: number, length: number, redelivered: boolean) => {
      const message = readMessage(bytes, offset, length);
      const id = message.intact ? intactPayload(message.payload) : undefined;
      if (id === undefined) {
        corrupt++;
        return;
      }
      received.set(id, (received.get(id) ?? 0) + 1);
      // Per publisher (its producerId), ids rise, except in a batch handed out again.
      const last = lastFrom.get(message.producerId) ?? -1;
      if (!redelivered && id <= last && received.get(id) === 1) outOfOrder++;
      lastFrom.set(message.producerId, Math.max(last, id));
    };
    for (let cut = 0; cut <= CUTS; cut++) {
      const broker = await startBroker(files, policy);
      const clients: BrokerClient[] = [];
      const connect = async () => {
        const c = await BrokerClient.connect(broker.url);
        clients.push(c);
        return c;
      };
      lastFrom.clear();
      const member = await connect();
      await member.subscribe('jobs', { group: 'workers' }, receive);
      if (cut === CUTS) {
        // The last incarnation: no cut; the group must get everything acknowledged.
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline && [...acknowledged].some((id) => !received.has(id))) await sleep(20);
        for (const c of clients) c.destroy();
        await broker.close(100);
        break;
      }
      // Half the time the member goes before the publishing: the group then has acknowledged
      // messages it was never sent when the power goes, kept for it across rolls and retention.
      if (random() < 0.5) member.destroy();
      let powerOn = true;
      const publishers = await Promise.all(
        [0, 1].map(async () => {
          const c = await connect();
          return c.openPublisher('jobs');
        }),
      );
      const publishing = publishers.map(async (publisher, p) => {
        while (powerOn) {
          const big = random() < 0.15;
          const ids = Array.from({ length: big ? 1 + Math.floor(random() * 3) : 1 + Math.floor(random() * 50) }, () => next++);
          const payloads = ids.map((id) => payloadOf(id, big ? Math.floor(random() * 65536) : 8 + Math.floor(random() * 200)));
          try {
            await publisher.send(payloads, p);
          } catch {
            return; // the connection went with the power
          }
          // An acknowledgement that arrives after the cut may be for what the disk lost with it.
          if (powerOn) for (const id of ids) acknowledged.add(id);
        }
      });
      await sleep(20 + Math.floor(random() * 150));
      // The power goes: what the disk holds now is all the next broker gets.
      powerOn = false;
      const keepSome = random() < 0.5;
      files = files.powerCut((path, unsynced) => (keepSome && path.endsWith('.log') ? Math.floor(random() * unsynced) : 0));
      for (const c of clients) c.destroy();
      await Promise.all(publishing);
      await broker.close(0);
      // How often a cut tore a record: recovery cuts it (seen by the next broker's logs).
      if (keepSome) torn++;
    }
    const lost = [...acknowledged].filter((id) => !received.has(id));
    const duplicates = [...received.values()].filter((n) => n > 1).length;
    console.info(
      `broker power cuts (${policy}): ${CUTS} cuts (${torn} keeping part of an unsynced tail), acknowledged ${acknowledged.size}, received ${received.size}, lost ${lost.length}, corrupt ${corrupt}, out of order ${outOfOrder}, duplicates ${duplicates}`,
    );
    expect(acknowledged.size).toBeGreaterThan(1000);
    expect(lost.slice(0, 10)).toEqual([]);
    expect(corrupt).toBe(0);
    expect(outOfOrder).toBe(0);
  }, 180_000);
});

describe("a consumer group's state that cannot be written", () => {
  it('refuses the subscription that would make the group (STORAGE), makes no group, and goes on', async () => {
    const files = new PowerCutFiles();
    const broker = await Broker.start({ storage: new LogStorage(DIR, { durability: 'batch', files }) });
    const client = await BrokerClient.connect(broker.url);
    try {
      // The disk is full when groups.json is replaced.
      files.faults = (operation, path) => (operation === 'open' && path.endsWith('groups.json.tmp') ? 'ENOSPC' : undefined);
      const refused = await client
        .subscribe('jobs', { group: 'workers' }, () => {})
        .then(
          () => null,
          (error: { code?: number; message: string }) => error,
        );
      expect(refused?.code).toBe(12);
      expect(refused?.message).toMatch(/cannot store group workers: ENOSPC/);
      expect(broker.statsNow().groups).toBe(0);
      // The connection goes on, and once the disk has room the group is made.
      files.faults = () => undefined;
      await client.subscribe('jobs', { group: 'workers' }, () => {});
      expect(broker.statsNow().groups).toBe(1);
    } finally {
      client.destroy();
      await broker.close(100);
    }
  });
});

/**
 * A failing disk through the broker: each sync site fails once (EIO or ENOSPC), in a broker
 * that runs in its own process on the simulated disk (support/faulty-disk-broker.ts), since the
 * broker's answer is to stop (exit 70) without acknowledging anything more. The disk is then
 * cut as the process dies, and a second broker boots from it: every message the first one
 * acknowledged must reach the group, intact.
 */
describe('the broker on a failing disk: a failed write, fdatasync, segment open or directory sync', () => {
  const jiti = fileURLToPath(new URL('../node_modules/jiti/lib/jiti-cli.mjs', import.meta.url));
  const child = fileURLToPath(new URL('./support/faulty-disk-broker.ts', import.meta.url));

  function startChild(args: string[]): Promise<{ process: ChildProcess; url: string; exited: Promise<number | null>; stderr: () => string }> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [jiti, child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
      p.stderr.on('data', (d) => (err += d));
      p.stdout.on('data', (d) => {
        out += d;
        const m = /listening (tcp:\/\/\S+)/.exec(out);
        if (m) resolve({ process: p, url: m[1], exited, stderr: () => err });
      });
      void exited.then((code) => reject(new Error(`broker exited (${code}) before listening: ${err}`)));
    });
  }

  const sites = [
    { what: 'a segment write', operation: 'write', suffix: '.log', nth: 40, code: 'EIO' },
    { what: "a segment's fdatasync", operation: 'syncFile', suffix: '.log', nth: 8, code: 'EIO' },
    { what: 'opening the next segment', operation: 'open', suffix: '.log', nth: 3, code: 'ENOSPC' },
    { what: "the topic directory's sync after a roll", operation: 'syncDirectory', suffix: 'jobs', nth: 3, code: 'EIO' },
  ];
  for (const policy of ['batch', 'always'] as const)
    for (const site of sites) {
      it(`${policy}: ${site.what} fails (${site.code}): the broker stops (exit 70) and keeps every message it acknowledged`, async () => {
        const dir = tempDir('faulty-disk');
        const children: ChildProcess[] = [];
        try {
          const disk = join(dir, 'disk.json');
          const first = await startChild([policy, '-', disk, site.operation, site.suffix, String(site.nth), site.code]);
          const acknowledged = new Set<number>();
          const clients: BrokerClient[] = [];
          let next = 0;
          let running = true;
          const member = await BrokerClient.connect(first.url);
          clients.push(member);
          const received = new Map<number, number>();
          let corrupt = 0;
          const receive = (bytes: Uint8Array, offset: number, length: number) => {
            const message = readMessage(bytes, offset, length);
            const id = message.intact ? intactPayload(message.payload) : undefined;
            if (id === undefined) corrupt++;
            else received.set(id, (received.get(id) ?? 0) + 1);
          };
          await member.subscribe('jobs', { group: 'workers' }, receive);
          // The member goes before the publishing: the group is owed every acknowledged message,
          // and only the second broker, booted from the disk, can give them.
          member.destroy();
          const random = seededRandom(site.nth * 7 + (policy === 'batch' ? 1 : 2));
          const publishing = [0, 1].map(async (p) => {
            const c = await BrokerClient.connect(first.url);
            clients.push(c);
            const publisher = await c.openPublisher('jobs');
            while (running) {
              // Mostly small batches, so a segment holds many and a fault lands mid-segment, after
              // acknowledgements its roll has not yet synced (the 64 KiB payloads are the cuts' test).
              const big = random() < 0.02;
              const ids = Array.from({ length: big ? 1 : 1 + Math.floor(random() * 40) }, () => next++);
              try {
                await publisher.send(
                  ids.map((id) => payloadOf(id, big ? Math.floor(random() * 65536) : 8 + Math.floor(random() * 200))),
                  p,
                );
              } catch {
                return; // the broker stopped: this batch was not acknowledged
              }
              for (const id of ids) acknowledged.add(id);
            }
          });
          children.push(first.process);
          const code = await Promise.race([first.exited, sleep(15_000).then(() => 'still running' as const)]);
          running = false;
          if (code === 'still running') first.process.kill('SIGKILL');
          for (const c of clients) c.destroy();
          await Promise.all(publishing);
          expect(code, `the fault at ${site.what} was never reached, or did not stop the broker`).toBe(70);
          expect(first.stderr()).toMatch(/stopping without acknowledging/);
          expect(acknowledged.size).toBeGreaterThan(0);

          // The next boot, on what the disk kept.
          const second = await startChild([policy, disk, join(dir, 'disk-2.json')]);
          children.push(second.process);
          const again = await BrokerClient.connect(second.url);
          await again.subscribe('jobs', { group: 'workers' }, receive);
          const deadline = Date.now() + 15_000;
          while (Date.now() < deadline && [...acknowledged].some((id) => !received.has(id))) await sleep(20);
          again.destroy();
          second.process.kill('SIGTERM');
          await second.exited;
          const lost = [...acknowledged].filter((id) => !received.has(id));
          expect(lost.slice(0, 10), `lost ${lost.length} of ${acknowledged.size} acknowledged`).toEqual([]);
          expect(corrupt).toBe(0);
          expect(received.size, 'received from the second broker').toBeGreaterThanOrEqual(acknowledged.size);
        } finally {
          for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
          rmSync(dir, { recursive: true, force: true });
        }
      }, 60_000);
    }
});
