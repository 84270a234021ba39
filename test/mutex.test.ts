/**
 * The lock baseline must be a correct lock: mutual exclusion under contention, and no lost
 * wake-ups for a thread blocked on an empty queue. Every backend that can block is checked for
 * lost wake-ups the same way. Timeouts make a bug fail, never hang.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { backends } from '../implementations/registry.js';

const workerUrl = new URL('./support/mutex-worker.mjs', import.meta.url);

function run<T>(data: Record<string, unknown>, transfer: unknown[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl, { workerData: data, transferList: transfer as never[] });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`worker ${String(data.job)} did not finish in 60 s`));
    }, 60_000);
    worker.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
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

describe.each(blocking.map((b) => [b.id, b] as const))('no lost wake-ups: %s', (_id, backend) => {
  it('a reader asleep on an empty queue always wakes when a message arrives', async () => {
    const rounds = 200;
    const d = backend.create({ capacityBytes: 64 * 1024, producers: 1, consumers: 1, maxMessageBytes: 64 });
    const reader = backend.select?.(d, 'consumer', 0) ?? d;
    const writer = backend.select?.(d, 'producer', 0) ?? d;
    const common = { backendId: backend.id, rounds };
    // A 20 s timeout per sleep: a lost wake-up shows as a timed-out sleep (and a slow test).
    const [outcomes] = await Promise.all([
      run<Record<string, number>>({ ...common, job: 'blocked-reader', descriptor: reader, timeoutMs: 20_000 }, [...(reader.transfer ?? [])]),
      run<{ sent: number }>({ ...common, job: 'slow-writer', descriptor: writer }, [...(writer.transfer ?? [])]),
    ]);
    expect(outcomes['timed-out']).toBe(0);
    expect(outcomes.woken).toBeGreaterThan(rounds / 2);
  });
});
