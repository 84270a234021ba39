/**
 * The lock baseline must be a correct lock: mutual exclusion under contention, and no lost
 * wake-ups for a thread blocked on an empty queue. Every backend that can block is checked for
 * lost wake-ups the same way. Timeouts make a bug fail, never hang.
 */
import { describe, expect, it } from 'vitest';
import { backends } from '../implementations/registry.js';
import type { MutexWorkerData } from './support/worker-data.js';
import { workerAnswer } from './support/workers.js';

const workerUrl = new URL('./support/mutex-worker.mjs', import.meta.url);

function run<T>(data: MutexWorkerData, transfer: unknown[] = []): Promise<T> {
  return workerAnswer<T>(workerUrl, data, { what: `worker ${data.job}`, deadlineMs: 70_000, transfer });
}

describe('mutex', () => {
  it('keeps a non-atomic counter exact under contention from 3 workers', async () => {
    const memory = new SharedArrayBuffer(256);
    const iterations = 200_000;
    const stats = await Promise.all(
      [0, 1, 2].map(() => run<{ contended: number }>({ job: 'increment', memory, lockIndex: 0, counterIndex: 32, barrierIndex: 48, workers: 3, iterations })),
    );
    expect(new Int32Array(memory)[32]).toBe(3 * iterations);
    // The test only means something if the lock was actually fought over.
    expect(stats.reduce((s, x) => s + x.contended, 0)).toBeGreaterThan(0);
    expect(new Int32Array(memory)[0]).toBe(0);
  });
});

const blocking = backends.filter((b) => b.available().available && b.traits.canBlock && !b.traits.selfDriven && b.traits.carriesBytes !== false);

type Outcomes = Record<'woken' | 'timed-out' | 'not-needed' | 'done', number>;

/**
 * Lost wake-ups, on both sides at once: a queue that holds a few messages, a producer and a
 * consumer each as fast as it can go, each asleep (with a 250 ms timeout) whenever it finds
 * the queue full or empty. The two sides race into and out of sleep thousands of times; a
 * sleeper that is never woken times out, and one time-out fails the test. The timeout is short
 * on purpose: a long retry would absorb a lost wake-up as mere slowness. (It must fail when the
 * event count's re-check after announcing a waiter is removed, or when a condition variable
 * counts its waiter after letting go of the lock: `npm run test:mutants` checks both.)
 */
describe.each(blocking.map((b) => [b.id, b] as const))('no lost wake-ups: %s', (_id, backend) => {
  it('a producer asleep on full and a consumer asleep on empty are always woken', async () => {
    const rounds = 50_000;
    // The smallest queue a backend makes holds only a handful of 64-byte messages.
    const d = backend.create({ capacityBytes: 256, producers: 1, consumers: 1, maxMessageBytes: 64 });
    const reader = backend.select?.(d, 'consumer', 0) ?? d;
    const writer = backend.select?.(d, 'producer', 0) ?? d;
    const common = { backendId: backend.id, rounds, timeoutMs: 250, maxTimeouts: 1, stop: new SharedArrayBuffer(4) };
    const [consumer, producer] = await Promise.all([
      run<Outcomes>({ ...common, job: 'tight-consumer', descriptor: reader }, [...(reader.transfer ?? [])]),
      run<Outcomes>({ ...common, job: 'tight-producer', descriptor: writer }, [...(writer.transfer ?? [])]),
    ]);
    expect({ consumerTimedOut: consumer['timed-out'], producerTimedOut: producer['timed-out'] }).toEqual({ consumerTimedOut: 0, producerTimedOut: 0 });
    expect(consumer.done).toBe(rounds);
    // The test means something only if both sides really slept and were woken.
    expect(consumer.woken).toBeGreaterThan(0);
    expect(producer.woken).toBeGreaterThan(0);
  });
});
