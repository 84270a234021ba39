/**
 * Cross-thread stress on real worker threads, for every available backend: an exact number of
 * messages of mixed sizes, each with a CRC32, must arrive exactly once, in order and intact.
 * Many-producer backends are stressed with several producers (per-producer order).
 */
import { describe, expect, it, vi } from 'vitest';

import type { QueueBackend } from '../implementations/contract.js';
import { backends, findQueueBackend } from '../implementations/registry.js';
import { MAX_ENVELOPE_BYTES } from '../wire/envelope.js';
import type { StressWorkerData } from './support/worker-data.js';
import { workerAnswer } from './support/workers.js';

// A ring that loses track of its records tends to spin for ever rather than fail: each test here
// takes about 2 s at most on CI's machine, so 30 s ends a hang (and the mutants' check of one,
// mpsc-no-zeroing) long before vitest's two minutes.
vi.setConfig({ testTimeout: 30_000 });

const workerUrl = new URL('./support/stress-worker.mjs', import.meta.url);

interface ConsumerReport {
  received: number;
  unique: number;
  duplicated: number;
  reordered: number;
  corrupt: number;
  extra: number;
  problems: string[];
}

function runWorker<T>(data: StressWorkerData, transfer: unknown[]): Promise<T> {
  // The workers' own deadline is 20 s from after their imports, and says where they were stuck;
  // this one, inside the test's 30 s, ends a worker that cannot keep it.
  return workerAnswer<T>(workerUrl, data, { what: `stress ${data.role} ${data.index}`, deadlineMs: 27_000, transfer });
}

/** Producers attach through `backend`, the consumer through `reader` (the same by default). */
async function stress(
  backend: QueueBackend,
  producers: number,
  perProducer: number,
  reader: QueueBackend = backend,
  startPosition?: number,
): Promise<ConsumerReport> {
  const descriptor = backend.create({ capacityBytes: 1 << 20, producers, consumers: 1, maxMessageBytes: MAX_ENVELOPE_BYTES, startPosition });
  // The workers give up (and say where they were stuck) well inside the test's 30 s.
  const common = { count: perProducer, producers, deadlineMs: 20_000 };
  const part = (role: 'producer' | 'consumer', index: number) => backend.select?.(descriptor, role, index) ?? descriptor;
  const consumerPart = part('consumer', 0);
  const consumer = runWorker<ConsumerReport>({ ...common, backendId: reader.id, role: 'consumer', index: 0, descriptor: consumerPart }, [
    ...(consumerPart.transfer ?? []),
  ]);
  // Producers and consumer awaited together: a consumer that fails while a producer's failure is
  // being reported is part of this test's failure, not an unhandled rejection in the next test's.
  const [sent, report] = await Promise.all([
    Promise.all(
      Array.from({ length: producers }, (_, i) => {
        const mine = part('producer', i);
        return runWorker<{ sent: number }>({ ...common, backendId: backend.id, role: 'producer', index: i, descriptor: mine }, [...(mine.transfer ?? [])]);
      }),
    ),
    consumer,
  ]).finally(() => backend.destroy?.(descriptor));
  expect(sent.map((s) => s.sent)).toEqual(Array(producers).fill(perProducer));
  return report;
}

// Self-driven backends (native-threads) have no JavaScript side to attach, and null carries no
// bytes: the harness tests both end to end.
const testable = backends.filter((b) => b.available().available && !b.traits.selfDriven && b.traits.carriesBytes !== false);

describe.each(testable.map((b) => [b.id, b] as const))('stress: %s', (_id, backend) => {
  it('moves 1M messages from one producer exactly once, in order, CRC intact', async () => {
    const report = await stress(backend, 1, 1_000_000);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ received: 1_000_000, unique: 1_000_000, duplicated: 0, reordered: 0, corrupt: 0, extra: 0 });
  });

  it.runIf(backend.traits.maxProducers >= 3)('moves 3 × 250k messages from 3 producers, per-producer order kept', async () => {
    const report = await stress(backend, 3, 250_000);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ received: 750_000, unique: 750_000, duplicated: 0, reordered: 0, corrupt: 0, extra: 0 });
  });
});

// Positions are 32-bit byte counters: arithmetic that is right at 0 can still be wrong where the
// Int32 turns negative (2^31) or wraps to 0 (2^32). Each ring starts 64 KiB short of the edge, so
// the stress run crosses it within its first few laps.
const rings = testable.filter((b) => b.traits.sharedMemory);
const edges = [
  ['2^31', 2 ** 31 - 65_536],
  ['2^32', 2 ** 32 - 65_536],
] as const;
describe.each(rings.map((b) => [b.id, b] as const))('position wrap: %s', (_id, backend) => {
  it.each(edges)('crosses %s with one producer, exactly once, in order, CRC intact', async (_edge, start) => {
    const report = await stress(backend, 1, 100_000, backend, start | 0);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ received: 100_000, unique: 100_000, duplicated: 0, reordered: 0, corrupt: 0, extra: 0 });
  });

  it.runIf(backend.traits.maxProducers >= 3).each(edges)('crosses %s with 3 producers, per-producer order kept', async (_edge, start) => {
    const report = await stress(backend, 3, 50_000, backend, start | 0);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ received: 150_000, unique: 150_000, duplicated: 0, reordered: 0, corrupt: 0, extra: 0 });
  });
});

// The native ring uses the sab-spsc layout: a JavaScript side and a native side share one queue.
const nativeBackend = findQueueBackend('native')!;
const jsRing = findQueueBackend('sab-spsc')!;
describe.runIf(nativeBackend.available().available)('interop: JavaScript and native on one ring', () => {
  it('JavaScript producer → native consumer: 1M messages exactly once, in order, CRC intact', async () => {
    const report = await stress(jsRing, 1, 1_000_000, nativeBackend);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ received: 1_000_000, unique: 1_000_000, duplicated: 0, reordered: 0, corrupt: 0, extra: 0 });
  });

  it('native producer → JavaScript consumer: 1M messages exactly once, in order, CRC intact', async () => {
    const report = await stress(nativeBackend, 1, 1_000_000, jsRing);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ received: 1_000_000, unique: 1_000_000, duplicated: 0, reordered: 0, corrupt: 0, extra: 0 });
  });
});
