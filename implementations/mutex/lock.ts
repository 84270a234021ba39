/**
 * A mutex on one Int32 of shared memory, after Drepper's "Futexes Are Tricky" (mutex 3):
 *
 *   0 unlocked   1 locked, nobody waits   2 locked, someone may wait
 *
 * lock:   CAS 0→1 (fast path); else spin a little re-trying; else swap in 2 and Atomics.wait
 *         while it was not 0.
 * unlock: decrement; if it was 2, store 0 and wake one waiter. An uncontended unlock never
 *         calls notify.
 *
 * The bounded spin before sleeping is what a good lock does on a multi-core machine: critical
 * sections here are short (one copy), so a waiter usually gets in before a sleep would pay off.
 */
const UNLOCKED = 0;
const LOCKED = 1;
const CONTENDED = 2;
export const LOCK_SPINS = 100;

export class SharedMutex {
  /** Acquisitions that had to wait (spin or sleep). */
  contended = 0;
  /** Times a thread went to sleep on the lock. */
  sleeps = 0;

  constructor(
    private readonly words: Int32Array,
    private readonly index: number,
  ) {}

  lock(): void {
    const w = this.words;
    const i = this.index;
    if (Atomics.compareExchange(w, i, UNLOCKED, LOCKED) === UNLOCKED) return;
    this.contended++;
    for (let spin = 0; spin < LOCK_SPINS; spin++) {
      if (Atomics.load(w, i) === UNLOCKED && Atomics.compareExchange(w, i, UNLOCKED, LOCKED) === UNLOCKED) return;
    }
    let state = Atomics.exchange(w, i, CONTENDED);
    while (state !== UNLOCKED) {
      this.sleeps++;
      Atomics.wait(w, i, CONTENDED);
      state = Atomics.exchange(w, i, CONTENDED);
    }
  }

  unlock(): void {
    if (Atomics.sub(this.words, this.index, 1) !== LOCKED) {
      Atomics.store(this.words, this.index, UNLOCKED);
      Atomics.notify(this.words, this.index, 1);
    }
  }
}
