/** The placement probe run before every trial (harness/calibration/core-round-trip.ts). */
import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { measureCoreRoundTrip, placementSpread } from '../harness/calibration/core-round-trip.js';

describe('core round trip', () => {
  it.skipIf(cpus().length < 2)('measures a round trip between two threads, in a plausible range', async () => {
    const ns = await measureCoreRoundTrip();
    expect(ns).toBeDefined();
    // Two cores of one machine: tens of nanoseconds at best (shared cache), microseconds when the
    // scheduler must share one core between the threads; never zero, never seconds.
    expect(ns!).toBeGreaterThan(10);
    expect(ns!).toBeLessThan(1e6);
  });

  it('calls a run spread when its round trips differ 1.5× or more, and only then', () => {
    expect(placementSpread([130, 135, 140])).toBeUndefined();
    expect(placementSpread([130, undefined, 350, 140])).toEqual([130, 350]);
    expect(placementSpread([130])).toBeUndefined();
    expect(placementSpread([undefined, undefined])).toBeUndefined();
  });
});
