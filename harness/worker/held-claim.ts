/**
 * A rehearsal, in warm-up, of a producer preempted between claim and commit.
 *
 * A consumer that polls at the tail meets a claimed record that is not yet committed only when
 * the producer is stopped in that gap. Where the consumer runs behind, or shares a core with
 * the producer, that happens only when the scheduler preempts the producer there, and the
 * first time may fall inside the window: the consumer's path for it (mpsc-cas's back-off, its
 * stalled-producer yield) is then compiled there, and the optimised drain loop that was built
 * without it is thrown away (seen with --trace-deopt: mpsc-cas's drain and drainLoop,
 * "insufficient type feedback for compare operation", in the window of a throughput run at
 * batch 256; logged, the consumer first met an uncommitted record 20–800 ms into warm-up, and
 * in one trial of six never).
 *
 * So each producing loop of the in-process workloads (the closed-loop and rate producers, and
 * both sides of ping-pong), once, in warm-up, after the consumer has found the queue empty (it
 * is then polling near the tail), holds its claim HELD_CLAIM_MS right after claiming, before it
 * writes or stamps anything. Like Control.awaitFilled and awaitEmptied, it makes warm-up visit
 * a state the window can meet. The hold waits on the phase word, so it never starts once
 * warm-up has ended and is cut short the moment the window opens; no figure of the window
 * sees it. Counters kept over the whole trial do (the wait counters, mpsc-cas's back-offs and
 * yields, mutex's contended locks). For backends whose consumer sees nothing until commit
 * (sab-spsc, native, ringbuf-js, post-message, wal) it is a 2 ms pause with nothing to
 * rehearse.
 */
import { type Control, PHASE, Phase } from './control.js';

/** Long enough for a spinning or parking consumer to back off and give up its CPU several times (mpsc-cas: 256 back-offs, then 0.05 ms); a blocking one sleeps through it. */
export const HELD_CLAIM_MS = 2;

export class HeldClaimRehearsal {
  private done = false;

  constructor(private readonly control: Control) {}

  /**
   * Called right after a claim succeeds: holds it the first time it is called in warm-up after
   * the consumer emptied the queue, and never again. Every test here runs on each call during
   * warm-up, so none is first reached in the window.
   */
  hold(): void {
    if (this.done) return;
    const words = this.control.words;
    if (Atomics.load(words, PHASE) !== Phase.WARMUP || !this.control.emptied()) return;
    this.done = true;
    // On the phase word, expecting warm-up: returns at once if the phase has moved on, and is
    // woken by setPhase's notify when the window opens.
    Atomics.wait(words, PHASE, Phase.WARMUP, HELD_CLAIM_MS);
  }
}
