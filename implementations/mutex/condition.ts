/**
 * A condition variable for SharedMutex: an event count (../shared/ring/event-count.ts, the same two
 * words: its epoch serves as the sequence) whose wait lets go of the mutex.
 *
 *   wait(m):  seq = load(SEQ); waiters++; m.unlock(); Atomics.wait(SEQ, seq, timeout); waiters--; m.lock()
 *   signal(): if waiters > 0: SEQ++ ; notify(SEQ)        (called after changing state under m)
 *
 * `seq` is read while the mutex is held, before the waiter lets go of it; a signaller changes
 * state under the same mutex, so its SEQ++ comes after that read and the wait cannot miss it.
 */
import type { WaitOutcome } from '../contract.js';
import { EventCount, EPOCH as SEQ, WAITERS } from '../shared/ring/event-count.js';
import type { SharedMutex } from './lock.js';

export class Condition extends EventCount {
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
}
