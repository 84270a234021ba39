/**
 * Small statistics over trials: medians and percentile-bootstrap confidence intervals.
 * Hand-written because it is a dozen lines and must be deterministic (seeded), which the
 * statistics packages on npm do not offer for the bootstrap.
 */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile (type 7, as R and NumPy default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** Deterministic PRNG (mulberry32), so the same trials always give the same interval. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates: `items` in a random order drawn from `random`, in place; returns `items`. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * 95% percentile-bootstrap interval of a statistic (default: the median) over the samples.
 * Returns undefined for fewer than two samples: one trial has no spread to speak of.
 */
export function bootstrapCi(
  samples: readonly number[],
  statistic: (values: readonly number[]) => number = median,
  options: BootstrapOptions = {},
): [number, number] | undefined {
  if (samples.length < 2) return undefined;
  return bootstrapInterval((resample) => statistic(resample(samples)), options);
}

export interface BootstrapOptions {
  iterations?: number;
  confidence?: number;
  seed?: number;
}

/**
 * The percentile-bootstrap interval of any estimate: `estimate` is called once per iteration
 * with a resampler (draws as many values as it is given, with replacement, from one seeded
 * stream) and returns that iteration's estimate, e.g. the ratio of two samples' medians.
 */
export function bootstrapInterval(
  estimate: (resample: (values: readonly number[]) => number[]) => number,
  { iterations = 4000, confidence = 0.95, seed = 0x5eed }: BootstrapOptions = {},
): [number, number] {
  const random = seededRandom(seed);
  const resample = (values: readonly number[]) => {
    const drawn = new Array<number>(values.length);
    for (let j = 0; j < values.length; j++) drawn[j] = values[Math.floor(random() * values.length)];
    return drawn;
  };
  const estimates = Array.from({ length: iterations }, () => estimate(resample));
  const tail = (1 - confidence) / 2;
  return [quantile(estimates, tail), quantile(estimates, 1 - tail)];
}
