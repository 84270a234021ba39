/**
 * A fixed-size log-linear histogram layout, for recorders that must not allocate or grow once
 * measuring starts (the latency-floor probe, native-threads' C++ loops): values below 1024 ns
 * exactly, then 512 sub-buckets per power of two (at most 0.2% error, against HdrHistogram's
 * 0.1% at three digits), up to 2^40 ns. The C++ mirror is LatencyBuckets in
 * implementations/native/src/threads.hpp: change both together (test/attribution.test.ts
 * checks they agree).
 */
export const LINEAR_BUCKETS = 1024;
export const SUB_BUCKETS = 512;
export const MAGNITUDES = 31;
export const BUCKETS = LINEAR_BUCKETS + MAGNITUDES * SUB_BUCKETS;

export function bucketOf(ns: number): number {
  if (ns < LINEAR_BUCKETS) return ns < 0 ? 0 : Math.floor(ns);
  const e = Math.floor(Math.log2(ns)) - 9; // ≥ 1 for ns ≥ 1024
  const index = LINEAR_BUCKETS + (e - 1) * SUB_BUCKETS + (Math.floor(ns / 2 ** e) - SUB_BUCKETS);
  return Math.min(index, BUCKETS - 1);
}

/** The smallest value that falls into bucket `index`. */
export function bucketValue(index: number): number {
  if (index < LINEAR_BUCKETS) return index;
  const e = Math.floor((index - LINEAR_BUCKETS) / SUB_BUCKETS) + 1;
  const sub = (index - LINEAR_BUCKETS) % SUB_BUCKETS;
  return (SUB_BUCKETS + sub) * 2 ** e;
}

export function percentileOf(counts: ArrayLike<number>, total: number, q: number): number {
  const target = Math.ceil(total * q);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i];
    if (seen >= target) return bucketValue(i);
  }
  return bucketValue(counts.length - 1);
}
