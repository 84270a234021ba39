/**
 * The wait primitives' orderings, tested by forcing the one interleaving that loses a wake-up:
 * the other side's action is run synchronously at the exact point where a real thread could be
 * preempted. Cross-thread races hit such a window only now and then (test/mutex.test.ts runs
 * them too); these tests hit it every time, so they fail every time the ordering is broken.
 */
import { describe, expect, it } from 'vitest';
import { Condition } from '../implementations/mutex/condition.js';
import { SharedMutex } from '../implementations/mutex/lock.js';
import { findQueueBackend } from '../implementations/registry.js';
import { EventCount } from '../implementations/shared/ring/event-count.js';
import { encode, MAX_ENVELOPE_BYTES } from '../wire/envelope.js';

describe('Condition', () => {
  it('counts its waiter before letting go of the lock, so a signal right after the unlock wakes it', () => {
    const words = new Int32Array(new SharedArrayBuffer(64));
    const mutex = new SharedMutex(words, 0);
    const condition = new Condition(words, 4);
    let state = 0;
    // The waiter's unlock is where the other thread gets the lock, changes the state and signals.
    const hooked = {
      lock: () => mutex.lock(),
      unlock: () => {
        mutex.unlock();
        if (state === 0) {
          mutex.lock();
          state = 1;
          mutex.unlock();
          condition.signal();
        }
      },
    } as unknown as SharedMutex;
    mutex.lock();
    const outcome = state === 0 ? condition.wait(hooked, 100) : 'not-needed';
    mutex.unlock();
    expect(state).toBe(1);
    expect(outcome).toBe('woken');
  });
});

describe('EventCount', () => {
  it('re-checks after announcing the sleeper: progress made just before the sleep is not slept through', () => {
    const words = new Int32Array(new SharedArrayBuffer(64));
    const ec = new EventCount(words, 0);
    let published = false;
    // The other side publishes between the sleeper's own emptiness check and its await: its
    // signal may or may not see the waiter, and only the re-check inside await makes it safe.
    published = true;
    expect(ec.await(() => published, 100)).toBe('not-needed');
  });
});

// A waker must make its progress visible before it looks for sleepers: a sleeper that announces
// itself between the waker's look and its publish would otherwise sleep on data.
// (The native ring decides in C++ whether to signal: test/native.test.ts and the sanitizer cover it.)
describe.each(['sab-spsc', 'mpsc-cas'].map((id) => [id] as const))('%s commit: publish, then signal', (id) => {
  const backend = findQueueBackend(id)!;
  it.runIf(backend.available().available)('a consumer that goes to sleep while the producer signals finds the data', () => {
    const d = backend.create({ capacityBytes: 64 * 1024, producers: 1, consumers: 1, maxMessageBytes: MAX_ENVELOPE_BYTES });
    const producer = backend.producer(d, 0);
    const consumer = backend.consumer(d, 0);
    const notEmpty = (producer as unknown as { notEmpty: EventCount }).notEmpty;
    const original = notEmpty.signal.bind(notEmpty);
    const outcomes: string[] = [];
    // At the moment the producer signals, the consumer (here, synchronously) goes to sleep.
    notEmpty.signal = () => {
      outcomes.push(consumer.awaitData(100));
      return original();
    };
    expect(producer.tryWrite(encode({ producerId: 0, sequence: 0 }))).toBe(true);
    expect(outcomes).toEqual(['not-needed']);
  });
});
