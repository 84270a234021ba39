/**
 * The rule every consumer follows after STOP (harness/worker/after-stop.ts), whichever driver
 * runs it: done at once when every producer has reported and every message it reported is in;
 * otherwise done only after a whole grace period in which the count of handled messages did
 * not move. Both drivers now pass the count and let the rule see progress in it, so a rule that
 * ignored the count (and ended a consumer still receiving) must fail here.
 */
import { describe, expect, it } from 'vitest';
import { AfterStop } from '../harness/worker/after-stop.js';
import { Control } from '../harness/worker/control.js';

/** Timers may fire late on a loaded machine: the one check that lateness could break has 0.4 grace (160 ms) to spare. */
const GRACE_MS = 400;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('after STOP', () => {
  it('is done at once when every producer has reported and every message it sent is in', () => {
    const control = Control.create();
    control.reportSent(0, 10);
    const afterStop = new AfterStop(control, 2, GRACE_MS * 1e6);
    expect(afterStop.done(10, 10)).toBe(false); // one producer of two has reported
    control.reportSent(1, 5);
    expect(afterStop.done(14, 14)).toBe(false); // 15 sent, 14 in
    expect(afterStop.done(15, 15)).toBe(true);
  });

  it('waits a whole grace period after the last progress, then gives the rest up', async () => {
    const control = Control.create();
    const afterStop = new AfterStop(control, 1, GRACE_MS * 1e6);
    expect(afterStop.done(3, 3)).toBe(false);
    await sleep(GRACE_MS * 0.6);
    // Progress 0.6 grace in: the grace starts again from here.
    expect(afterStop.done(4, 4)).toBe(false);
    await sleep(GRACE_MS * 0.6);
    // 1.2 grace since the first look, 0.6 since the progress: still waiting.
    expect(afterStop.done(4, 4)).toBe(false);
    await sleep(GRACE_MS * 0.7);
    // 1.3 grace since the progress, with none since.
    expect(afterStop.done(4, 4)).toBe(true);
  });
});
