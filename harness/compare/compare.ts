/**
 * Baseline vs candidate, case by case, for throughput and p99 latency: a gate CI can trust.
 *
 * - Cases are matched by id AND by their whole configuration (scenario settings that change
 *   what is measured, and the case's parameters); a case whose configuration differs is listed
 *   as mismatched, never compared.
 * - ratio = median(candidate trials) / median(baseline trials). A verdict needs at least
 *   MIN_TRIALS ok trials a side: below that the case is `inconclusive`, whatever its ratio
 *   (with 3 trials a "95% interval" is just [min, max], and two runs of the same code gave
 *   dozens of false verdicts).
 * - With enough trials, a change is significant when a one-sided permutation test on the trial
 *   values rejects "no change" at ALPHA (exact over every relabelling when there are few, which
 *   holds its error rate at small n, unlike a bootstrap) AND the ratio lies beyond the
 *   threshold (an effect size: a real but tiny change is not a regression).
 * - The tests are a family (two figures of every case: a quick suite makes 112), and at 5% each,
 *   ~10 would come out "significant" between two runs of the same code. So a verdict must also
 *   be a discovery of the family: Benjamini–Hochberg at a false discovery rate of FDR, on the
 *   two-sided p-values. Under no change at all, that keeps the chance of any verdict at ≤ FDR.
 *   A figure that passes on its own but not in the family is `unconfirmed`, listed with a note:
 *   with 5 trials a side the smallest possible p is 1/252, so one regressed case among hundreds
 *   needs more trials to be told from noise, and the note says so rather than hide it.
 * - A case that was ok in the baseline but failed, was skipped, or is missing in the candidate
 *   is a regression, named as such.
 * The bootstrap interval of the ratio is still shown, for reading, with enough trials.
 */
import { PLACEMENT_RATIO, placedApart } from '../calibration/core-round-trip.js';
import { bootstrapInterval, median, seededRandom } from '../metrics/stats.js';
import type { CaseResult, ResultFile } from '../results/types.js';

export type Verdict = 'faster' | 'slower' | 'no significant change' | 'inconclusive';

/** Fewest ok trials a side for a verdict. */
export const MIN_TRIALS = 5;
/** One-sided significance level of each direction's permutation test (5% two-sided). */
export const ALPHA = 0.025;
/** False discovery rate the family of a comparison's tests is held to (Benjamini–Hochberg). */
export const FDR = 0.05;

export interface MetricComparison {
  metric: 'msgsPerSec' | 'p99';
  baseline: number;
  candidate: number;
  /** candidate / baseline */
  ratio: number;
  /** 95% interval of the ratio (bootstrap, for reading); absent below MIN_TRIALS ok trials on either side. */
  ratioCi95?: [number, number];
  verdict: Verdict;
  /** One-sided permutation p-value in the direction of the observed change (≥ MIN_TRIALS a side). */
  pValue?: number;
  /** Benjamini–Hochberg adjusted two-sided p-value across every tested figure of the comparison. */
  qValue?: number;
  /** Beyond the threshold with p < ALPHA on its own, but not a discovery of the family. */
  unconfirmed?: 'slower' | 'faster';
  /** Ok trials on each side. */
  trials: [number, number];
  basis: string;
}

export interface CaseComparison {
  id: string;
  metrics: MetricComparison[];
}

export interface Comparison {
  baseline: { scenario: string; startedAt: string; gitCommit: string | null };
  candidate: { scenario: string; startedAt: string; gitCommit: string | null };
  thresholdPct: number;
  cases: CaseComparison[];
  onlyInBaseline: string[];
  onlyInCandidate: string[];
  /** Cases present on both sides that could not be compared (failed or skipped), with why. */
  notCompared: { id: string; reason: string }[];
  /** Ok in the baseline, but failed, skipped or missing in the candidate: each a regression. */
  lostCases: { id: string; reason: string }[];
  /** Same id, different configuration: listed, never compared. */
  mismatched: { id: string; differences: string[] }[];
  /** Metrics with too few trials for a verdict. */
  inconclusive: number;
  /** Tested figures (each case's msg/s and p99 with enough trials): the family the verdicts are held to. */
  tested: number;
  /** Figures that changed beyond the threshold with p < ALPHA alone, but are not discoveries of the family. */
  unconfirmed: number;
  /** The two results come from different machines or Node versions, and so on. */
  warnings: string[];
  /** Slower metrics plus lost cases. */
  regressions: number;
  improvements: number;
}

/** The bootstrap interval of the ratio of medians, candidate over baseline. */
function ratioInterval(base: number[], cand: number[]): [number, number] | undefined {
  if (base.length < 2 || cand.length < 2) return undefined;
  return bootstrapInterval((resample) => median(resample(cand)) / median(resample(base)), { seed: 0xc0ffee });
}

/**
 * One-sided permutation p-value that `cand` is lower than `base`: the share of relabellings of
 * the pooled trials whose difference of means of logs (a ratio of geometric means) is at least
 * as low as the observed one. Means, not medians: with five trials a side a median takes so
 * few values that many relabellings tie with the observed one, and the test loses its power. Exact (every relabelling) up to 20 000 of them, else a
 * seeded sample of 20 000.
 */
export function permutationPValue(base: number[], cand: number[]): number {
  const pooled = [...base, ...cand].map(Math.log);
  const m = cand.length;
  const total = pooled.length;
  const sum = pooled.reduce((a, b) => a + b, 0);
  // mean(cand) − mean(base) for the relabelling that puts `idx` in the candidate.
  const stat = (idx: number[]) => {
    let inCand = 0;
    for (const i of idx) inCand += pooled[i];
    return inCand / m - (sum - inCand) / (total - m);
  };
  const observed = stat(cand.map((_, i) => base.length + i));
  let combinations = 1;
  for (let k = 0; k < m; k++) combinations = (combinations * (total - k)) / (k + 1);
  let atLeast = 0;
  let count = 0;
  const eps = 1e-12;
  if (combinations <= 20_000) {
    const idx: number[] = [];
    const walk = (start: number) => {
      if (idx.length === m) {
        count++;
        if (stat(idx) <= observed + eps) atLeast++;
        return;
      }
      for (let i = start; i <= total - (m - idx.length); i++) {
        idx.push(i);
        walk(i + 1);
        idx.pop();
      }
    };
    walk(0);
  } else {
    const random = seededRandom(0x5eed);
    const order = pooled.map((_, i) => i);
    for (; count < 20_000; count++) {
      for (let i = total - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      if (stat(order.slice(0, m)) <= observed + eps) atLeast++;
    }
  }
  return atLeast / count;
}

function compareMetric(
  metric: MetricComparison['metric'],
  base: number[],
  cand: number[],
  thresholdPct: number,
  higherIsBetter: boolean,
  intervals: boolean,
): MetricComparison | undefined {
  // A ratio needs positive, finite figures on both sides: a zero or negative one (a broken or
  // hand-edited file) would print Infinity [NaN–NaN] and decide nothing.
  base = base.filter((v) => Number.isFinite(v) && v > 0);
  cand = cand.filter((v) => Number.isFinite(v) && v > 0);
  if (base.length === 0 || cand.length === 0) return undefined;
  const b = median(base);
  const c = median(cand);
  const ratio = c / b;
  const trials: [number, number] = [base.length, cand.length];
  if (base.length < MIN_TRIALS || cand.length < MIN_TRIALS) {
    return {
      metric,
      baseline: b,
      candidate: c,
      ratio,
      trials,
      verdict: 'inconclusive',
      basis: `${Math.min(...trials)} trial(s) on one side; a verdict needs ${MIN_TRIALS}`,
    };
  }
  const t = thresholdPct / 100;
  // The candidate is "worse" when its values are lower (throughput) or higher (p99).
  const pLower = permutationPValue(base, cand);
  const pHigher = permutationPValue(cand, base);
  let verdict: Verdict = 'no significant change';
  let pValue = ratio < 1 ? pLower : pHigher;
  if (ratio < 1 - t && pLower < ALPHA) verdict = higherIsBetter ? 'slower' : 'faster';
  else if (ratio > 1 + t && pHigher < ALPHA) verdict = higherIsBetter ? 'faster' : 'slower';
  pValue = Math.min(1, pValue);
  const out: MetricComparison = {
    metric,
    baseline: b,
    candidate: c,
    ratio,
    trials,
    verdict,
    pValue,
    basis: `permutation test, ${trials[0]}+${trials[1]} trials`,
  };
  const ci = intervals ? ratioInterval(base, cand) : undefined;
  if (ci) out.ratioCi95 = ci;
  return out;
}

/**
 * Benjamini–Hochberg over every tested figure: q-values from the two-sided p-values, and a
 * verdict stays only where its q-value is within FDR; the others become `unconfirmed`.
 */
function holdToFamily(metrics: MetricComparison[]): void {
  const tested = metrics.filter((m) => m.pValue !== undefined).sort((a, b) => a.pValue! - b.pValue!);
  const n = tested.length;
  let running = 1;
  for (let i = n - 1; i >= 0; i--) {
    const twoSided = Math.min(1, 2 * tested[i].pValue!);
    running = Math.min(running, (twoSided * n) / (i + 1));
    tested[i].qValue = running;
  }
  for (const m of tested) {
    if ((m.verdict === 'slower' || m.verdict === 'faster') && m.qValue! > FDR) {
      m.unconfirmed = m.verdict;
      m.verdict = 'no significant change';
    }
  }
}

const trialValues = (c: CaseResult, pick: (t: CaseResult['trials'][number]) => number | undefined) =>
  c.trials
    .filter((t) => t.status === 'ok')
    .map(pick)
    .filter((v): v is number => v !== undefined && Number.isFinite(v));

/** Scenario settings that change what a case measures: cases only compare when these agree. */
const MEASURING_SETTINGS = ['duration', 'warmup', 'capacity', 'verify', 'stall', 'fork', 'pin'] as const;

function configurationDifferences(baseline: ResultFile, candidate: ResultFile, base: CaseResult, cand: CaseResult): string[] {
  const differences: string[] = [];
  const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
  for (const key of MEASURING_SETTINGS) {
    const a = (baseline.scenario as Record<string, unknown>)[key];
    const b = (candidate.scenario as Record<string, unknown>)[key];
    if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`${key} ${show(a)} → ${show(b)}`);
  }
  const keys = new Set([...Object.keys(base.params), ...Object.keys(cand.params)]);
  for (const key of keys) {
    const a = (base.params as unknown as Record<string, unknown>)[key];
    const b = (cand.params as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`${key} ${show(a)} → ${show(b)}`);
  }
  if (base.backend !== cand.backend || base.workload !== cand.workload) differences.push(`${base.backend}/${base.workload} → ${cand.backend}/${cand.workload}`);
  return differences;
}

function machineWarnings(baseline: ResultFile, candidate: ResultFile): string[] {
  const a = baseline.environment;
  const b = candidate.environment;
  const warnings: string[] = [];
  if (a.cpuModel !== b.cpuModel || a.cores !== b.cores)
    warnings.push(`different machines: ${a.cpuModel} (${a.cores} cores) → ${b.cpuModel} (${b.cores} cores); ratios mix the machine and the code`);
  if (a.node !== b.node) warnings.push(`different Node.js: ${a.node} → ${b.node}`);
  warnings.push(...placementWarnings(baseline, candidate));
  return warnings;
}

/** Median core-to-core round trip of a file's trials (or of one case's), when they recorded one. */
function medianRoundTrip(cases: readonly CaseResult[]): number | undefined {
  const known = cases.flatMap((c) => c.trials.map((t) => t.coreRoundTripNs)).filter((x): x is number => x !== undefined);
  return known.length > 0 ? median(known) : undefined;
}

/**
 * Where the host had the cores on each side (calibration/core-round-trip.ts): on a VM whose
 * vCPUs move between near and far physical cores, that alone moves any figure that carries
 * cache lines between threads by up to 3×, and no test on the trials can tell it from the code.
 */
function placementWarnings(baseline: ResultFile, candidate: ResultFile): string[] {
  const base = medianRoundTrip(baseline.cases);
  const cand = medianRoundTrip(candidate.cases);
  if (base === undefined && cand === undefined) return [];
  if (base === undefined || cand === undefined)
    return [
      `only the ${base === undefined ? 'candidate' : 'baseline'} recorded where the host had the cores (trials[].coreRoundTripNs): ratios of figures that move cache lines between threads may mix that with the code`,
    ];
  const ns = (x: number) => `${Math.round(x)} ns`;
  const warnings: string[] = [];
  if (placedApart(base, cand))
    warnings.push(
      `the cores were placed differently: median core-to-core round trip ${ns(base)} in the baseline, ${ns(cand)} in the candidate; figures that move cache lines between threads differ by that alone (up to 3× on the VMs behind docs/method.md)`,
    );
  const candCases = new Map(candidate.cases.map((c) => [c.id, c]));
  const differing = baseline.cases.filter((c) => {
    const other = candCases.get(c.id);
    const x = medianRoundTrip([c]);
    const y = other ? medianRoundTrip([other]) : undefined;
    return x !== undefined && y !== undefined && placedApart(x, y);
  });
  if (differing.length > 0)
    warnings.push(
      `${differing.length} case(s) ran on differently placed cores in the two files (median core round trip ${PLACEMENT_RATIO}× apart or more), e.g. ${differing
        .slice(0, 3)
        .map((c) => c.id)
        .join(', ')}: read their verdicts as the machine's as much as the code's`,
    );
  return warnings;
}

/** `intervals: false` skips the bootstrap intervals (for reading only; verdicts never use them), for simulations. */
export function compareResults(baseline: ResultFile, candidate: ResultFile, thresholdPct = 5, options: { intervals?: boolean } = {}): Comparison {
  const intervals = options.intervals ?? true;
  const baseCases = new Map(baseline.cases.map((c) => [c.id, c]));
  const candCases = new Map(candidate.cases.map((c) => [c.id, c]));
  const cases: CaseComparison[] = [];
  const notCompared: Comparison['notCompared'] = [];
  const lostCases: Comparison['lostCases'] = [];
  const mismatched: Comparison['mismatched'] = [];
  for (const [id, base] of baseCases) {
    const cand = candCases.get(id);
    if (!cand) {
      if (base.status === 'ok') lostCases.push({ id, reason: 'missing in the candidate' });
      continue;
    }
    const differences = configurationDifferences(baseline, candidate, base, cand);
    if (differences.length > 0) {
      mismatched.push({ id, differences });
      continue;
    }
    if (base.status === 'ok' && cand.status !== 'ok') {
      lostCases.push({ id, reason: `${cand.status} in the candidate${cand.reason ? `: ${cand.reason}` : ''}` });
      continue;
    }
    if (base.status !== 'ok' || cand.status !== 'ok') {
      notCompared.push({ id, reason: `baseline ${base.status}, candidate ${cand.status}` });
      continue;
    }
    const metrics = [
      compareMetric(
        'msgsPerSec',
        trialValues(base, (t) => t.msgsPerSec),
        trialValues(cand, (t) => t.msgsPerSec),
        thresholdPct,
        true,
        intervals,
      ),
      compareMetric(
        'p99',
        trialValues(base, (t) => t.latencyNs?.p99),
        trialValues(cand, (t) => t.latencyNs?.p99),
        thresholdPct,
        false,
        intervals,
      ),
    ].filter((m): m is MetricComparison => m !== undefined);
    cases.push({ id, metrics });
  }
  const all = cases.flatMap((c) => c.metrics);
  holdToFamily(all);
  const side = (r: ResultFile) => ({ scenario: r.scenario.name, startedAt: r.environment.startedAt, gitCommit: r.environment.gitCommit });
  return {
    baseline: side(baseline),
    candidate: side(candidate),
    thresholdPct,
    cases,
    onlyInBaseline: [...baseCases.keys()].filter((id) => !candCases.has(id)),
    onlyInCandidate: [...candCases.keys()].filter((id) => !baseCases.has(id)),
    notCompared,
    lostCases,
    mismatched,
    inconclusive: all.filter((m) => m.verdict === 'inconclusive').length,
    tested: all.filter((m) => m.pValue !== undefined).length,
    unconfirmed: all.filter((m) => m.unconfirmed !== undefined).length,
    warnings: machineWarnings(baseline, candidate),
    regressions: all.filter((m) => m.verdict === 'slower').length + lostCases.length,
    improvements: all.filter((m) => m.verdict === 'faster').length,
  };
}
