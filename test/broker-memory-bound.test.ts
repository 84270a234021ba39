/**
 * The broker's memory formula (broker/memory-bound.ts) against the broker itself: `nanomq broker`
 * as a user starts it (its V8 flags and allocator setting), at its defaults and at limits a
 * quarter as large, sized for the clients this test connects and then loaded by them, its peak
 * RSS (VmHWM) read from /proc. The load is the two cases where the broker's memory was highest
 * (docs/broker.md): 1 KiB messages in batches of 256, each a frame several reads long, to a
 * subscriber; and 64-byte messages one at a time to a consumer group of 3 (the group at batch 1
 * peaked highest in scenarios/brokers.yaml), whose deliveries churn the heap. The formula's runtime term is the broker idle, once it listens, plus the node binary's
 * pages a first short load brings in (its compiler's code); the code V8 compiles for the broker
 * is a term of the formula.
 *
 * Shown failing, by hand, but only just: with the heap goal's full collections broken (`if (used <
 * alive + headroomBytes) return` always returning), the smaller configuration peaked at 71.4,
 * 71.8, 72.8 and 73.2 MiB against bounds of 71.8–71.9, so 3 of 4 runs failed, against peaks of
 * 64.3–68.3 MiB when whole (4 runs). A fault that adds less than ~5 MiB in these few seconds
 * does not show. At the defaults the bound's terms are worst cases a few seconds of load do not
 * fill (peaks 69–75 MiB against ~115): the defaults' case checks the formula, the smaller one
 * gives it what power it has.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BrokerClient, type Publisher } from '../broker/client.js';
import { DEFAULT_HEAP_HEADROOM_BYTES } from '../broker/heap-goal.js';
import { DEFAULT_LIMITS } from '../broker/limits.js';
import { loadMallocTrim } from '../broker/malloc-trim.js';
import { brokerMemoryBound } from '../broker/memory-bound.js';
import { EnvelopeCodec, HEADER_BYTES } from '../wire/envelope.js';
import { until } from './support/broker-peers.js';

const cli = join(__dirname, '..', 'dist', 'harness', 'cli', 'main.js');
const MiB = 1024 * 1024;

function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssFile'): number {
  const kib = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kib === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

/** Publishes batches of `batch` messages of `payloadBytes` for `ms`, as fast as the window lets it. */
async function publishFor(publisher: Publisher, batch: number, payloadBytes: number, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let sent = 0;
  let turns = 0;
  let codec = new EnvelopeCodec(publisher.buffer);
  while (performance.now() < end) {
    const n = publisher.claim(batch, HEADER_BYTES + payloadBytes);
    if (n === 0) {
      await publisher.waitForCredit();
      continue;
    }
    if (codec.bytes !== publisher.buffer) codec = new EnvelopeCodec(publisher.buffer);
    for (let i = 0; i < n; i++) codec.writeBareHeader(publisher.offsetOf(i), 0, sent + i, payloadBytes);
    publisher.commit();
    sent += n;
    if (++turns % 8 === 0) await turn(); // frames committed in one turn leave in one write
  }
  return sent;
}

/**
 * One publishing connection, a subscriber and a group of three: 1 KiB messages in batches of 256
 * to the subscriber for `ms`, then messages one at a time to the group for `ms`; every message
 * received before the clients leave.
 */
async function serve(url: string, wideMs: number, narrowMs: number): Promise<{ sentWide: number; sentNarrow: number; connections: number }> {
  const clients: BrokerClient[] = [];
  try {
    const publishing = await BrokerClient.connect(url);
    clients.push(publishing);
    let received = 0;
    const subscriber = await BrokerClient.connect(url);
    clients.push(subscriber);
    await subscriber.subscribe('wide', {}, () => void received++);
    for (let i = 0; i < 3; i++) {
      const member = await BrokerClient.connect(url);
      clients.push(member);
      await member.subscribe('narrow', { group: 'g' }, () => void received++);
    }
    const wide = await publishing.openPublisher('wide');
    const narrow = await publishing.openPublisher('narrow');
    const sentWide = await publishFor(wide, 256, 1024, wideMs);
    const sentNarrow = await publishFor(narrow, 1, 64, narrowMs);
    await until(() => received === sentWide + sentNarrow, 10_000, 'every message to arrive');
    return { sentWide, sentNarrow, connections: clients.length };
  } finally {
    await Promise.race([Promise.allSettled(clients.map((c) => c.close())), new Promise((r) => setTimeout(r, 2000))]);
  }
}

/**
 * The defaults a user's broker starts with; and limits a quarter as large, where every term is
 * small, under a longer group load (3 s), so that garbage the broker fails to bound shows above
 * them (below).
 */
const CONFIGURATIONS = [
  { name: 'its defaults', flags: [] as string[], limits: DEFAULT_LIMITS, headroom: DEFAULT_HEAP_HEADROOM_BYTES, groupMs: 1000 },
  {
    name: '--window 1MiB --max-input 2MiB --max-pending 256KiB --heap-headroom 1MiB',
    flags: ['--window', '1MiB', '--max-input', '2MiB', '--max-pending', '256KiB', '--heap-headroom', '1MiB'],
    limits: { ...DEFAULT_LIMITS, windowBytes: MiB, inputBudgetBytes: 2 * MiB, maxPendingBytes: 256 * 1024 },
    headroom: MiB,
    groupMs: 4000,
  },
];

// The formula counts on the broker trimming glibc's heap, which needs the native addon.
const trim = loadMallocTrim();

describe.skipIf(!trim.ok)(`the broker memory formula${trim.ok ? '' : ` (skipped: ${trim.reason})`}`, () => {
  it.each(CONFIGURATIONS)(
    'holds for nanomq broker at $name under its two heaviest loads: peak RSS within runtime + what its limits allow',
    async (config) => {
      const env = { ...process.env };
      delete env.GLIBC_TUNABLES;
      delete env.MALLOC_ARENA_MAX;
      const launcher = spawn(process.execPath, [cli, 'broker', '--port', '0', ...config.flags], { stdio: ['ignore', 'pipe', 'pipe'], env });
      let out = '';
      let err = '';
      launcher.stdout.on('data', (d) => (out += d));
      launcher.stderr.on('data', (d) => (err += d));
      const closed = new Promise((r) => launcher.once('close', r));
      const startedAt = performance.now();
      let pid = 0;
      // Whatever happens to the test (a timeout included), nothing it started outlives it.
      onTestFinished(() => {
        for (const p of [launcher.pid, pid]) {
          try {
            if (p) process.kill(p, 'SIGKILL');
          } catch {}
        }
      });
      try {
        await until(() => /listening on tcp:\/\//.test(out), 10_000, 'the broker to listen');
        const children = readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, 'utf8').split(/\s+/).filter(Boolean);
        expect(children).toHaveLength(1);
        pid = Number(children[0]);
        // The log's code is loaded only with --log (broker/main.ts): not its CRC's native binding.
        expect(readFileSync(`/proc/${pid}/maps`, 'utf8')).not.toMatch(/crc32/);
        const url = /tcp:\/\/\S+/.exec(out)![0];
        // The runtime: the broker idle, before any client, and the pages of the node binary that
        // serving touches (its optimising compiler's code: 5–6 MiB), read as the file-backed RSS
        // gained over a first short load. Memory that load made (anonymous) is not counted in it.
        // Idle once its start-up garbage is collected and trimmed (the heap goal checks every 50 ms).
        await new Promise((r) => setTimeout(r, 300));
        const idleRss = statusBytes(pid, 'VmRSS');
        const idleFile = statusBytes(pid, 'RssFile');
        await serve(url, 300, 300);
        const runtime = idleRss + Math.max(0, statusBytes(pid, 'RssFile') - idleFile);
        writeFileSync(`/proc/${pid}/clear_refs`, '5'); // VmHWM from here
        const { sentWide, sentNarrow, connections } = await serve(url, 1000, config.groupMs);
        const peak = statusBytes(pid, 'VmHWM');

        const bound = brokerMemoryBound(runtime, config.limits, config.headroom, { connections, publishingConnections: 1 });
        const terms = bound!.terms.map((t) => `${t.name} ${(t.bytes / MiB).toFixed(1)}`).join('; ');
        console.log(
          `broker memory at ${config.name}: peak ${(peak / MiB).toFixed(1)} MiB, bound ${(bound!.bytes / MiB).toFixed(1)} MiB (${terms}); ${sentWide} + ${sentNarrow} messages`,
        );
        expect(sentWide).toBeGreaterThan(10_000);
        expect(sentNarrow).toBeGreaterThan(10_000);
        expect(peak).toBeLessThanOrEqual(bound!.bytes);
      } finally {
        // Forwarded to the broker; a launcher gone already (a broker that never listened) is not waited for.
        if (launcher.exitCode === null && launcher.signalCode === null) {
          launcher.kill('SIGTERM');
          await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
        }
      }
      const seconds = (performance.now() - startedAt) / 1000;
      expect(err).not.toMatch(/started without/);
      // The broker gave its free pages back about once a second (broker/malloc-trim.ts), as its stopped line counts.
      const trims = Number(/(\d+) malloc trims/.exec(err)?.[1] ?? 0);
      expect(trims).toBeGreaterThanOrEqual(Math.floor(seconds) - 2);
    },
    60_000,
  );
});
