/**
 * The delivery window that bounds messages in flight for brokers without flow control
 * (implementations/shared/network/delivery-window.ts): the slowest reader holds it when every reader
 * gets every message, the sum of readers when they share, its counters wrap at 2^32, and a
 * producer waiting on the event loop is woken by a reader on another thread.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDeliveryWindow, DeliveryWindow, type DeliveryWindowMemory } from '../implementations/shared/network/delivery-window.js';

/** Counts `n` messages as published (word 0), as producers that took the room would have. */
const publish = (memory: DeliveryWindowMemory, n: number) => Atomics.add(memory.words, 0, n);

describe('DeliveryWindow', () => {
  it('lets the slowest reader hold the window when every reader gets every message (fan-out)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 5 }), (limit, seen) => {
        const memory = createDeliveryWindow(seen.length, limit);
        const w = new DeliveryWindow(memory);
        const published = Math.max(...seen);
        publish(memory, published);
        for (const [i, n] of seen.entries()) w.consumed(i, n);
        expect(w.inFlight()).toBe(published - Math.min(...seen));
        expect(w.grant(limit)).toBe(Math.max(0, Math.min(limit, limit - (published - Math.min(...seen)))));
      }),
    );
  });

  it('counts what readers took together when they share the messages (a group)', () => {
    const memory = createDeliveryWindow(3, 100);
    const w = new DeliveryWindow(memory);
    w.markShared();
    publish(memory, 90);
    w.consumed(0, 30);
    w.consumed(1, 20);
    w.consumed(2, 10);
    expect(w.inFlight()).toBe(30);
    expect(w.grant(500)).toBe(70);
  });

  it('keeps counting across the 2^32 wrap of its counters', () => {
    const memory = createDeliveryWindow(1, 10);
    const w = new DeliveryWindow(memory);
    publish(memory, 2 ** 31 - 5);
    w.consumed(0, 2 ** 31 - 5);
    publish(memory, 8); // the published counter wraps past 2^31 into negative Int32
    expect(w.inFlight()).toBe(8);
    w.consumed(0, 2 ** 31 + 1);
    expect(w.inFlight()).toBe(2);
    expect(w.grant(10)).toBe(8);
  });

  it('wakes a producer waiting on its event loop when a reader on another thread takes messages', async () => {
    const memory = createDeliveryWindow(1, 4);
    const w = new DeliveryWindow(memory);
    publish(memory, 4);
    expect(w.grant(1)).toBe(0);
    const started = performance.now();
    const reader = new Worker(
      `const { workerData } = require('node:worker_threads');
       const words = workerData.words;
       setTimeout(() => { Atomics.store(words, 4, 2); if (Atomics.load(words, 3) > 0) { Atomics.add(words, 2, 1); Atomics.notify(words, 2); } }, 50);`,
      { eval: true, workerData: memory },
    );
    const outcome = await w.awaitRoom(5000);
    const waited = performance.now() - started;
    await reader.terminate();
    expect(outcome).toBe('woken');
    expect(waited).toBeLessThan(2000);
    expect(w.grant(10)).toBe(2);
  });

  it('counts granted room at once: a second grant does not get the room the first took', () => {
    const w = new DeliveryWindow(createDeliveryWindow(1, 100));
    expect(w.grant(100)).toBe(100);
    expect(w.grant(100)).toBe(0);
    expect(w.inFlight()).toBe(100);
  });

  it('never holds more than its limit with 8 producers on 8 threads racing for the same room', async () => {
    const limit = 1000;
    const memory = createDeliveryWindow(1, limit);
    const start = new Int32Array(new SharedArrayBuffer(4));
    const producers = Array.from(
      { length: 8 },
      () =>
        new Worker(
          `const { workerData, parentPort } = require('node:worker_threads');
           import(workerData.module).then(({ DeliveryWindow }) => {
             const w = new DeliveryWindow(workerData.memory);
             Atomics.wait(workerData.start, 0, 0);
             let taken = 0;
             for (let n = w.grant(3); n > 0; n = w.grant(3)) taken += n;
             parentPort.postMessage(taken);
           });`,
          {
            eval: true,
            workerData: {
              memory,
              start,
              module: pathToFileURL(join(__dirname, '..', 'dist', 'implementations', 'shared', 'network', 'delivery-window.js')).href,
            },
          },
        ),
    );
    // A worker that cannot load (a moved module) fails the test at once, not at its time-out.
    const taken = producers.map(
      (p) =>
        new Promise<number>((resolve, reject) => {
          p.once('message', resolve);
          p.once('error', reject);
        }),
    );
    await new Promise((r) => setTimeout(r, 200));
    Atomics.store(start, 0, 1);
    Atomics.notify(start, 0);
    const total = (await Promise.all(taken)).reduce((a, b) => a + b, 0);
    await Promise.all(producers.map((p) => p.terminate()));
    expect(total).toBe(limit);
    expect(new DeliveryWindow(memory).inFlight()).toBe(limit);
  });
});
