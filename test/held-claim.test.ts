/**
 * The held-claim rehearsal (harness/worker/held-claim.ts): once, in warm-up only, and only
 * after the consumer has found the queue empty, a producing side holds its claim before
 * committing it, so the consumer meets an uncommitted record during warm-up. Inside the window
 * it must never hold (that would be a stall the harness made and then measured).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Control, Phase } from '../harness/worker/control.js';
import { HELD_CLAIM_MS, HeldClaimRehearsal } from '../harness/worker/held-claim.js';

describe('held-claim rehearsal', () => {
  afterEach(() => vi.restoreAllMocks());

  it('holds once, in warm-up, after the consumer emptied the queue, and never in the window', () => {
    const waits = vi.spyOn(Atomics, 'wait');
    const control = Control.create();
    const rehearsal = new HeldClaimRehearsal(control);
    rehearsal.hold(Phase.STARTING);
    rehearsal.hold(Phase.WARMUP);
    expect(waits, 'before the consumer found the queue empty').not.toHaveBeenCalled();
    control.markEmptied();
    rehearsal.hold(Phase.WARMUP);
    expect(waits).toHaveBeenCalledTimes(1);
    expect(waits.mock.calls[0][3]).toBe(HELD_CLAIM_MS);
    rehearsal.hold(Phase.WARMUP);
    expect(waits, 'a second time').toHaveBeenCalledTimes(1);
  });

  it('never holds once the window is open, even if warm-up never saw an empty queue', () => {
    const waits = vi.spyOn(Atomics, 'wait');
    const control = Control.create();
    const rehearsal = new HeldClaimRehearsal(control);
    control.markEmptied();
    for (const phase of [Phase.MEASURE, Phase.STOP]) rehearsal.hold(phase);
    expect(waits).not.toHaveBeenCalled();
  });
});
