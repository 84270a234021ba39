/**
 * An event count: lets one side sleep until the other side makes progress, without the fast
 * path paying for a notify nobody waits for (the "block" wait strategy).
 *
 *   Int32 words at `base` (give it a cache line of its own):
 *   +---------+---------+
 *   | epoch   | waiters |
 *   +---------+---------+
 *
 * Sleeper:  waiters++ ; e = epoch ; re-check the queue ; if still nothing: wait(epoch, e) ; waiters--
 * Waker:    publish (an Atomics store) ; if waiters > 0: epoch++ ; notify(epoch)
 *
 * Why no wake-up is lost: every access is sequentially consistent. Either the sleeper's
 * re-check sees the publish, or the waker's load of `waiters` sees the sleeper, and then the
 * epoch bump makes `Atomics.wait(epoch, e)` return at once or wakes it.
 */
import type { WaitOutcome } from '../../contract.js';

type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<string> | string };
/** Atomics.waitAsync (V8 has it; TypeScript's ES2022 lib does not yet). */
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Offsets of the two words from `base`. */
export const EPOCH = 0;
export const WAITERS = 1;

export class EventCount {
  constructor(
    protected readonly words: Int32Array,
    protected readonly base: number,
  ) {}

  /** Called by the side that made progress, after publishing it. Returns true when it notified. */
  signal(): boolean {
    if (Atomics.load(this.words, this.base + WAITERS) === 0) return false;
    Atomics.add(this.words, this.base + EPOCH, 1);
    Atomics.notify(this.words, this.base + EPOCH);
    return true;
  }

  /**
   * Sleeps until signalled or `timeoutMs` passes, unless `ready()` (re-checked after announcing
   * the wait) says there is already something to do.
   */
  await(ready: () => boolean, timeoutMs: number): WaitOutcome {
    const w = this.words;
    Atomics.add(w, this.base + WAITERS, 1);
    try {
      const epoch = Atomics.load(w, this.base + EPOCH);
      if (ready()) return 'not-needed';
      const r = Atomics.wait(w, this.base + EPOCH, epoch, timeoutMs);
      return r === 'timed-out' ? 'timed-out' : 'woken';
    } finally {
      Atomics.sub(w, this.base + WAITERS, 1);
    }
  }

  /**
   * The same wait for a thread that must not block (its event loop reads sockets): sleeps on
   * the event loop with Atomics.waitAsync, under the same protocol.
   */
  async awaitAsync(ready: () => boolean, timeoutMs: number): Promise<WaitOutcome> {
    const w = this.words;
    Atomics.add(w, this.base + WAITERS, 1);
    try {
      const epoch = Atomics.load(w, this.base + EPOCH);
      if (ready()) return 'not-needed';
      const r = waitAsync(w, this.base + EPOCH, epoch, timeoutMs);
      const outcome = r.async ? await (r.value as Promise<string>) : (r.value as string);
      return outcome === 'timed-out' ? 'timed-out' : 'woken';
    } finally {
      Atomics.sub(w, this.base + WAITERS, 1);
    }
  }
}
