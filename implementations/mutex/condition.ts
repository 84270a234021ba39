/**
 * A condition variable for SharedMutex: a sequence word and a waiter count.
 *
 *   wait(m):  seq = load(SEQ); waiters++; m.unlock(); Atomics.wait(SEQ, seq, timeout); waiters--; m.lock()
 *   signal(): if waiters > 0: SEQ++ ; notify(SEQ)        (called after changing state under m)
 *
 * `seq` is read while the mutex is held, before the waiter lets go of it; a signaller changes
 * state under the same mutex, so its SEQ++ comes after that read and the wait cannot miss it.
 */
import type { WaitOutcome } from '../contract.js';
import type { SharedMutex } from './lock.js';

const SEQ = 0;
const WAITERS = 1;

export class Condition {
  constructor(
    private readonly words: Int32Array,
    private readonly base: number,
  ) {}

  /** Call with `mutex` held; returns with it held again. */
  wait(mutex: SharedMutex, timeoutMs: number): WaitOutcome {
    const w = this.words;
    const seq = Atomics.load(w, this.base + SEQ);
    Atomics.add(w, this.base + WAITERS, 1);
    mutex.unlock();
    const r = Atomics.wait(w, this.base + SEQ, seq, timeoutMs);
    Atomics.sub(w, this.base + WAITERS, 1);
    mutex.lock();
    return r === 'timed-out' ? 'timed-out' : 'woken';
  }

  /** Wakes every waiter (they re-check their condition); no notify when nobody waits. */
  signal(): void {
    const w = this.words;
    if (Atomics.load(w, this.base + WAITERS) === 0) return;
    Atomics.add(w, this.base + SEQ, 1);
    Atomics.notify(w, this.base + SEQ);
  }
}
