/**
 * Latency histograms (HdrHistogram, 3 significant digits, values in ns). Workers record into a
 * WebAssembly histogram (~15 ns a record, vs ~100 ns for the JS build) and ship it as
 * compressed base64; the coordinator decodes and adds them.
 */
import * as hdr from 'hdr-histogram-js';
import { MIN_TAIL_SAMPLES } from '../results/method.js';
import type { LatencySummary } from '../results/types.js';

/** One hour in ns: far above anything a queue should take; larger values are clamped. */
export const HIGHEST_TRACKABLE_NS = 3_600_000_000_000;

export type Histogram = hdr.Histogram;

let wasmReady: Promise<void> | null = null;

export function initHistograms(): Promise<void> {
  wasmReady ??= hdr.initWebAssembly();
  return wasmReady;
}

/**
 * Workers record into 32-bit buckets: measured here, a record costs ~18 ns in a 32-bit
 * WebAssembly histogram and ~200 ns in a 'packed' one. The coordinator merges into 64-bit
 * buckets, so no bucket can overflow however many trials are added up.
 */
export function createHistogram(useWebAssembly: boolean): Histogram {
  return hdr.build({
    bitBucketSize: useWebAssembly ? 32 : 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_NS,
    numberOfSignificantValueDigits: 3,
    useWebAssembly,
  });
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Adds encoded histograms into one (JS build, for the coordinator). */
export function mergeHistograms(encoded: readonly string[]): Histogram {
  const total = createHistogram(false);
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e, 64, false);
    total.add(h);
    h.destroy();
  }
  return total;
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 64, false);
}

/**
 * A percentile p is reported only when at least MIN_TAIL_SAMPLES samples lie at or beyond it,
 * i.e. count ≥ MIN_TAIL_SAMPLES / (1 − p): a p99.9 from 2 000 samples is two numbers, not a tail.
 */

const PERCENTILES: [keyof LatencySummary, number][] = [
  ['p50', 50],
  ['p90', 90],
  ['p99', 99],
  ['p999', 99.9],
];

export function summarize(h: Histogram): LatencySummary {
  const count = h.totalCount;
  const summary: LatencySummary = { max: h.maxValue, count, histogram: encodeHistogram(h) };
  const warnings: string[] = [];
  for (const [key, p] of PERCENTILES) {
    const needed = Math.ceil(MIN_TAIL_SAMPLES / (1 - p / 100));
    if (count >= needed) (summary[key] as number) = h.getValueAtPercentile(p);
    else if (count > 0) warnings.push(`${key} not reported: ${count} samples, needs ${needed}`);
  }
  if (warnings.length > 0) summary.warnings = warnings;
  return summary;
}
