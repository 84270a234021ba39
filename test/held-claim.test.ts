/**
 * The held-claim rehearsal (harness/worker/held-claim.ts): once, in warm-up only, and only
 * after the consumer has found the queue empty, a producing side holds its claim before
 * writing and committing it, so the consumer meets an uncommitted record during warm-up. It
 * must never hold in the window (that would be a stall the harness made and then measured):
 * it reads the phase itself, and waits on the phase word, so the window's opening ends it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Control, PHASE, Phase } from '../harness/worker/control.js';
import { HELD_CLAIM_MS, HeldClaimRehearsal } from '../harness/worker/held-claim.js';

describe('held-claim rehearsal', () => {
  afterEach(() => vi.restoreAllMocks());

  it('holds once, in warm-up, after the consumer emptied the queue, waiting on the phase word', () => {
    const waits = vi.spyOn(Atomics, 'wait');
    const control = Control.create();
    const rehearsal = new HeldClaimRehearsal(control);
    control.markEmptied();
    rehearsal.hold();
    expect(waits, 'before warm-up').not.toHaveBeenCalled();
    control.setPhase(Phase.WARMUP);
    const fresh = new HeldClaimRehearsal(Control.create());
    fresh.hold();
    expect(waits, 'in warm-up, before the consumer found the queue empty').not.toHaveBeenCalled();
    rehearsal.hold();
    // Expecting warm-up on the phase word: setPhase's notify ends the hold as the window opens.
    expect(waits.mock.calls).toEqual([[control.words, PHASE, Phase.WARMUP, HELD_CLAIM_MS]]);
    rehearsal.hold();
    expect(waits, 'a second time').toHaveBeenCalledTimes(1);
  });

  it('never holds once the window is open, even if warm-up never held', () => {
    const waits = vi.spyOn(Atomics, 'wait');
    const control = Control.create();
    const rehearsal = new HeldClaimRehearsal(control);
    control.markEmptied();
    control.setPhase(Phase.MEASURE);
    rehearsal.hold();
    control.setPhase(Phase.STOP);
    rehearsal.hold();
    expect(waits).not.toHaveBeenCalled();
  });

  it('a hold begun in warm-up ends when the phase moves on, not after its full time', () => {
    const control = Control.create();
    control.setPhase(Phase.WARMUP);
    control.markEmptied();
    // The phase has moved on by the time the wait begins: Atomics.wait returns "not-equal" at once.
    const real = Atomics.wait;
    const outcomes: string[] = [];
    vi.spyOn(Atomics, 'wait').mockImplementation((...args: Parameters<typeof Atomics.wait>) => {
      control.setPhase(Phase.MEASURE);
      const outcome = real(...args);
      outcomes.push(outcome);
      return outcome;
    });
    new HeldClaimRehearsal(control).hold();
    expect(outcomes).toEqual(['not-equal']);
  });
});
