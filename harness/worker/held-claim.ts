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
 * So each producing side, once, in warm-up, after the consumer has found the queue empty
 * (it is then polling near the tail), holds its claimed batch HELD_CLAIM_MS before committing
 * it. Like Control.awaitFilled and awaitEmptied, it makes warm-up visit a state the window can
 * meet; it touches no figure, since nothing is recorded before the window opens.
 */
import { type Control, Phase } from './control.js';

/** Long enough for a polling consumer to back off and give up its CPU several times (mpsc-cas: 256 back-offs, then 0.05 ms). */
export const HELD_CLAIM_MS = 2;

export class HeldClaimRehearsal {
  private done = false;
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));

  constructor(private readonly control: Control) {}

  /**
   * Called between claim and commit with the phase the loop read: holds the claim the first
   * time it is called in warm-up after the consumer emptied the queue, and never again. Every
   * test here runs on each call during warm-up, so none is first reached in the window.
   */
  hold(phase: number): void {
    if (this.done || phase !== Phase.WARMUP || !this.control.emptied()) return;
    this.done = true;
    Atomics.wait(this.pause, 0, 0, HELD_CLAIM_MS);
  }
}
