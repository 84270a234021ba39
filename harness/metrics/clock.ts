/**
 * The one clock every thread of the process shares (process.hrtime; performance.now() has a
 * different origin in each worker). Nanoseconds as a Number: exact below 2^53 ns (104 days).
 */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export interface ClockCalibration {
  /** Smallest non-zero step seen between two consecutive reads. */
  resolutionNs: number;
  /** Mean cost of one read. */
  overheadNs: number;
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
  return { resolutionNs: resolution, overheadNs: (previous - start) / reads };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
