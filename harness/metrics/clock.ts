/**
 * The one clock every thread of the process shares: process.hrtime's monotonic clock, in
 * nanoseconds as a Number (exact below 2^53 ns, 104 days). Every timestamp that crosses threads
 * (send times, receive times, the schedule's start) is read here, so one-way latency carries no
 * clock error between threads.
 */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/**
 * The same clock read through performance.now() plus a per-thread offset: no BigInt per read,
 * for loops that spin on the clock (the rate producer's pacing) and would otherwise turn out
 * millions of short-lived BigInts a second. performance.now() has a different origin in each
 * worker, so each thread measures its own offset once, from the tightest of many bracketing
 * reads; the error is at most half that bracket (`offsetErrorNs`, ~100 ns here). Use it only
 * to decide *when* to act, never for a timestamp that is reported.
 */
const calibration = (() => {
  let bestWidth = Infinity;
  let offset = 0;
  for (let i = 0; i < 200; i++) {
    const before = Number(process.hrtime.bigint());
    const now = performance.now();
    const after = Number(process.hrtime.bigint());
    if (after - before < bestWidth) {
      bestWidth = after - before;
      offset = (before + after) / 2 - now * 1e6;
    }
  }
  return { offset, errorNs: bestWidth / 2 };
})();

const offsetNs = calibration.offset;

export function pacingNowNs(): number {
  return performance.now() * 1e6 + offsetNs;
}

export interface ClockCalibration {
  /** Smallest non-zero step seen between two consecutive reads. */
  resolutionNs: number;
  /** Mean cost of one read. */
  overheadNs: number;
  /** How far the pacing clock (pacingNowNs) may sit from process.hrtime. */
  offsetErrorNs: number;
}

export function calibrateClock(reads = 200_000): ClockCalibration {
  let resolution = Infinity;
  let previous = nowNs();
  const start = previous;
  for (let i = 0; i < reads; i++) {
    const t = nowNs();
    const step = t - previous;
    if (step > 0 && step < resolution) resolution = step;
    previous = t;
  }
  return { resolutionNs: resolution, overheadNs: (previous - start) / reads, offsetErrorNs: calibration.errorNs };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
