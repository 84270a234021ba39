/**
 * Yuen's trimmed t-test (Welch's test on trimmed means) on the logarithms of two samples: does
 * the candidate's typical figure differ from the baseline's by a factor?
 *
 * Why logs: benchmark figures are ratios of work to time, their noise is multiplicative, and a
 * change is read as a factor (0.67×), so the test compares geometric means.
 * Why a parametric test and not the exact permutation test compare used before: an exact test's
 * smallest p is set by the number of trials (1/252 with 5 a side), so one regressed figure among
 * the quick suite's 112 could never become a discovery of the family, however clear the change.
 * A t statistic's p falls with the size of the change against the trials' spread, at any trial
 * count. Why Welch: the two sides need not share a spread (a candidate with follow-up trials
 * spans more minutes than its baseline).
 *
 * The Student t distribution comes from jStat (a numeric routine, not the subject of this work).
 */
import jstat from 'jstat';

/**
 * The smallest spread (standard deviation of the logs, ≈ a relative spread) either side is
 * credited with. Trials agreeing closer than 1% say more about a coarse clock or a saturated
 * queue than about the noise between runs, and an estimate of spread from a few identical
 * values would make any difference infinitely significant.
 */
export const MIN_LOG_SD = 0.01;

export interface WelchResult {
  /** mean(log candidate) − mean(log baseline): exp() of it is the ratio of geometric means. */
  logDifference: number;
  t: number;
  df: number;
  /** One-sided p that the candidate is lower than the baseline. */
  pLower: number;
  /** One-sided p that the candidate is higher. */
  pHigher: number;
}

/** Share of each end of a side's trials left out of its mean (Yuen's trimmed test): none below 10 trials, where a plain Welch test keeps its power, one at each end from 10. */
export const TRIM = 0.1;

/**
 * One side's trimmed mean of the logs and the squared standard error of it (Yuen): the lowest
 * and highest ⌊TRIM·n⌋ values are left out of the mean and pulled in to the nearest kept value
 * for the spread. Why trimmed: the placement probe runs before a trial, and now and then the
 * host moves the cores during one, so a case's trials on one placement carry a value of the
 * other mode (mpsc-cas batch 1, near cores: 6.72 5.66 2.96 M msg/s); one such value among five
 * would otherwise hide any change behind its spread.
 */
function trimmed(logs: readonly number[]): { mean: number; se2: number; h: number } {
  const n = logs.length;
  const sorted = [...logs].sort((a, b) => a - b);
  const g = Math.floor(TRIM * n);
  const h = n - 2 * g;
  const kept = sorted.slice(g, n - g);
  const mean = kept.reduce((a, b) => a + b, 0) / h;
  const winsorized = sorted.map((x) => Math.min(Math.max(x, sorted[g]), sorted[n - g - 1]));
  const wMean = winsorized.reduce((a, b) => a + b, 0) / n;
  const wVariance = Math.max(winsorized.reduce((a, b) => a + (b - wMean) ** 2, 0) / (n - 1), MIN_LOG_SD ** 2);
  return { mean, se2: ((n - 1) * wVariance) / (h * (h - 1)), h };
}

/** Welch's test of log(candidate) against log(baseline); each side needs 2 or more positive values. */
export function welchLogTest(baseline: readonly number[], candidate: readonly number[]): WelchResult {
  if (baseline.length < 2 || candidate.length < 2) throw new RangeError('welchLogTest: 2 or more values a side');
  const b = trimmed(baseline.map(Math.log));
  const c = trimmed(candidate.map(Math.log));
  const logDifference = c.mean - b.mean;
  const t = logDifference / Math.sqrt(b.se2 + c.se2);
  // Welch–Satterthwaite degrees of freedom, on the kept counts.
  const df = (b.se2 + c.se2) ** 2 / (b.se2 ** 2 / (b.h - 1) + c.se2 ** 2 / (c.h - 1));
  const lower = jstat.studentt.cdf(t, df);
  // Both tails from the cdf of a negative t, so a p of 1e-12 is not lost to 1 − (1 − 1e-12).
  const upper = jstat.studentt.cdf(-t, df);
  return { logDifference, t, df, pLower: lower, pHigher: upper };
}
