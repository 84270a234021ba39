/**
 * Baseline vs candidate, case by case (matched by id), for throughput and p99 latency.
 *
 * For each metric: ratio = median(candidate trials) / median(baseline trials), with a 95%
 * bootstrap interval (baseline and candidate trials resampled independently). A change is
 * significant when the whole interval lies beyond the threshold: throughput slower when the
 * interval's top is below 1 − threshold, p99 slower when its bottom is above 1 + threshold.
 * With a single trial on either side there is no interval; the verdict then rests on the point
 * ratio alone and says so.
 */
import { median, quantile, seededRandom } from '../metrics/stats.js';
import type { CaseResult, ResultFile } from '../results/types.js';

export type Verdict = 'faster' | 'slower' | 'no significant change';

export interface MetricComparison {
  metric: 'msgsPerSec' | 'p99';
  baseline: number;
  candidate: number;
  /** candidate / baseline */
  ratio: number;
  /** 95% interval of the ratio; absent with a single trial on either side. */
  ratioCi95?: [number, number];
  verdict: Verdict;
  basis: 'interval' | 'point (single trial)';
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
  regressions: number;
  improvements: number;
}

function ratioInterval(base: number[], cand: number[], iterations = 4000): [number, number] | undefined {
  if (base.length < 2 || cand.length < 2) return undefined;
  const random = seededRandom(0xc0ffee);
  const pick = (xs: number[]) => {
    const r = new Array<number>(xs.length);
    for (let i = 0; i < xs.length; i++) r[i] = xs[Math.floor(random() * xs.length)];
    return median(r);
  };
  const ratios = Array.from({ length: iterations }, () => pick(cand) / pick(base));
  return [quantile(ratios, 0.025), quantile(ratios, 0.975)];
}

function compareMetric(
  metric: MetricComparison['metric'],
  base: number[],
  cand: number[],
  thresholdPct: number,
  higherIsBetter: boolean,
): MetricComparison | undefined {
  // A ratio needs positive, finite figures on both sides: a zero or negative one (a broken or
  // hand-edited file) would print Infinity [NaN–NaN] and decide nothing.
  base = base.filter((v) => Number.isFinite(v) && v > 0);
  cand = cand.filter((v) => Number.isFinite(v) && v > 0);
  if (base.length === 0 || cand.length === 0) return undefined;
  const b = median(base);
  const c = median(cand);
  const ratio = c / b;
  const ci = ratioInterval(base, cand);
  const [lo, hi] = ci ?? [ratio, ratio];
  const t = thresholdPct / 100;
  let verdict: Verdict = 'no significant change';
  if (higherIsBetter) {
    if (hi < 1 - t) verdict = 'slower';
    else if (lo > 1 + t) verdict = 'faster';
  } else {
    if (lo > 1 + t) verdict = 'slower';
    else if (hi < 1 - t) verdict = 'faster';
  }
  const out: MetricComparison = { metric, baseline: b, candidate: c, ratio, verdict, basis: ci ? 'interval' : 'point (single trial)' };
  if (ci) out.ratioCi95 = ci;
  return out;
}

const trialValues = (c: CaseResult, pick: (t: CaseResult['trials'][number]) => number | undefined) =>
  c.trials.filter((t) => t.status === 'ok').map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));

export function compareResults(baseline: ResultFile, candidate: ResultFile, thresholdPct = 5): Comparison {
  const baseCases = new Map(baseline.cases.map((c) => [c.id, c]));
  const candCases = new Map(candidate.cases.map((c) => [c.id, c]));
  const cases: CaseComparison[] = [];
  const notCompared: Comparison['notCompared'] = [];
  for (const [id, cand] of candCases) {
    const base = baseCases.get(id);
    if (!base) continue;
    if (base.status !== 'ok' || cand.status !== 'ok') {
      notCompared.push({ id, reason: `baseline ${base.status}, candidate ${cand.status}` });
      continue;
    }
    const metrics = [
      compareMetric('msgsPerSec', trialValues(base, (t) => t.msgsPerSec), trialValues(cand, (t) => t.msgsPerSec), thresholdPct, true),
      compareMetric('p99', trialValues(base, (t) => t.latencyNs?.p99), trialValues(cand, (t) => t.latencyNs?.p99), thresholdPct, false),
    ].filter((m): m is MetricComparison => m !== undefined);
    cases.push({ id, metrics });
  }
  const all = cases.flatMap((c) => c.metrics);
  const side = (r: ResultFile) => ({ scenario: r.scenario.name, startedAt: r.environment.startedAt, gitCommit: r.environment.gitCommit });
  return {
    baseline: side(baseline),
    candidate: side(candidate),
    thresholdPct,
    cases,
    onlyInBaseline: [...baseCases.keys()].filter((id) => !candCases.has(id)),
    onlyInCandidate: [...candCases.keys()].filter((id) => !baseCases.has(id)),
    notCompared,
    regressions: all.filter((m) => m.verdict === 'slower').length,
    improvements: all.filter((m) => m.verdict === 'faster').length,
  };
}
