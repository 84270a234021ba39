/**
 * The one clock every thread of the process shares: process.hrtime's monotonic clock, in
 * nanoseconds as a Number (exact below 2^53 ns, 104 days).
 *
 * Read through performance.now() plus a per-thread offset: process.hrtime.bigint() allocates a
 * BigInt on every read, and a pacing loop reading the clock millions of times a second turns
 * that garbage into scavenges that stall the very thread being measured (seen here: p99 of
 * 4 ms at 500k msg/s). performance.now() has a different origin in each worker, so each thread
 * measures its own offset to hrtime once, from the tightest of many bracketing reads; the
 * remaining cross-thread error is half that bracket (tens of ns, recorded as offsetErrorNs).
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

export function nowNs(): number {
  return performance.now() * 1e6 + offsetNs;
}

/** Largest error of this thread's clock against process.hrtime, from its calibration. */
export function clockOffsetErrorNs(): number {
  return calibration.errorNs;
}

export interface ClockCalibration {
  /** Smallest non-zero step seen between two consecutive reads. */
  resolutionNs: number;
  /** Mean cost of one read. */
  overheadNs: number;
  /** How far this thread's performance.now()-based clock may sit from process.hrtime. */
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
