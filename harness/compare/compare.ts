/**
 * Baseline vs candidate, case by case, for throughput and p99 latency: a gate CI can trust.
 *
 * - Cases are matched by id AND by their whole configuration (scenario settings that change
 *   what is measured, the case's parameters, and the servers it ran against: their version and
 *   shape); a case whose configuration differs is listed as mismatched, never compared.
 * - Like with like: each trial is classified by where the host had the cores
 *   (results/placement.ts). A figure is compared on the placement both sides have the most
 *   trials on, at least MIN_PLACED_TRIALS a side; with fewer it is `inconclusive`, and the
 *   row says whether trials or placements were missing. (On the VMs behind docs/method.md one
 *   case's trials read 3.6 3.6 3.5 10.7 3.6 M msg/s: far cores four times, near once.)
 * - ratio = median(candidate) / median(baseline) on that placement.
 * - A change is significant when Yuen's trimmed t-test on the logs of the trials (metrics/welch.ts)
 *   rejects "no change" at ALPHA one-sided AND the ratio lies beyond the threshold (an effect
 *   size: a real but tiny change is not a regression).
 * - The tests are a family (two figures of every case: the quick suite makes 112), and at 2.5%
 *   each a few would come out "significant" between two runs of the same code. So a verdict
 *   must also be a discovery of the family: Benjamini–Hochberg at a false discovery rate of FDR
 *   on the two-sided p-values. A figure that passes on its own but not in the family is
 *   `unconfirmed`, listed with a note. `run --confirm-against` gives every figure that looks
 *   worse more trials before the verdict (compare/follow-up.ts).
 * - A case that was ok in the baseline but failed, was skipped, or is missing in the candidate
 *   is a regression, named as such.
 * The bootstrap interval of the ratio is shown for reading, with enough trials.
 */
import { PLACEMENT_RATIO, placedApart } from '../calibration/core-round-trip.js';
import { bootstrapInterval, median } from '../metrics/stats.js';
import { welchLogTest } from '../metrics/welch.js';
import { byPlacement, type PlacedValue, type Placement, placementOf } from '../results/placement.js';
import { serverKey } from '../results/server-key.js';
import type { CaseResult, ResultFile } from '../results/types.js';

export type Verdict = 'faster' | 'slower' | 'no significant change' | 'inconclusive';

/** Fewest trials a case a baseline is made with (`nanomq baseline` refuses fewer). */
export const MIN_TRIALS = 5;
/** Fewest ok trials a side on one placement for a verdict. */
export const MIN_PLACED_TRIALS = 3;
/** One-sided significance level of each direction's test (5% two-sided). */
export const ALPHA = 0.025;
/** Smallest change that counts, in percent (`--threshold`; docs/method.md says how it was chosen). */
export const DEFAULT_THRESHOLD_PCT = 5;
/** False discovery rate the family of a comparison's tests is held to (Benjamini–Hochberg). */
export const FDR = 0.05;

export interface MetricComparison {
  metric: 'msgsPerSec' | 'p99';
  baseline: number;
  candidate: number;
  /** candidate / baseline */
  ratio: number;
  /** 95% interval of the ratio (bootstrap, for reading); absent without a verdict. */
  ratioCi95?: [number, number];
  verdict: Verdict;
  /** Why a figure is inconclusive: too few trials a side, or too few on any one placement both sides share. */
  inconclusiveWhy?: 'trials' | 'placement';
  /** The placement compared ('unknown': all trials pooled, because a side recorded none or the figure reads the same on both). */
  placement?: Placement;
  /** One-sided p-value (Yuen's trimmed t on logs) in the direction of the observed change. */
  pValue?: number;
  /** Benjamini–Hochberg adjusted two-sided p-value across every tested figure of the comparison. */
  qValue?: number;
  /** Beyond the threshold with p < ALPHA on its own, but not a discovery of the family. */
  unconfirmed?: 'slower' | 'faster';
  /** Ok trials on each side that were compared (on the placement compared). */
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

const count = (values: readonly PlacedValue[]) =>
  byPlacement(values)
    .map((m) => `${m.placement} ${m.trials}`)
    .join(', ');

/**
 * The placement to compare on: the one both sides have the most trials on, MIN_PLACED_TRIALS
 * or more a side. When there is none, every trial is pooled only if pooling cannot move the
 * ratio by as much as the threshold: each side's near and far medians lie within it of each
 * other (the figure reads the same wherever the cores are). When either side recorded no
 * placements (a file from before they were measured), every trial is pooled as `unknown`, as
 * compare did then.
 */
function matchPlacement(base: PlacedValue[], cand: PlacedValue[], thresholdPct: number): { placement: Placement; base: number[]; cand: number[] } | undefined {
  const known = (side: PlacedValue[]) => side.some((v) => v.placement !== 'unknown');
  const pooled = () => ({ placement: 'unknown' as const, base: base.map((v) => v.value), cand: cand.map((v) => v.value) });
  if (!known(base) || !known(cand)) return Math.min(base.length, cand.length) >= MIN_PLACED_TRIALS ? pooled() : undefined;
  let best: { placement: Placement; base: number[]; cand: number[] } | undefined;
  for (const placement of ['near', 'far'] as const) {
    const b = base.filter((v) => v.placement === placement).map((v) => v.value);
    const c = cand.filter((v) => v.placement === placement).map((v) => v.value);
    const fewer = Math.min(b.length, c.length);
    if (fewer < MIN_PLACED_TRIALS) continue;
    const bestFewer = best ? Math.min(best.base.length, best.cand.length) : -1;
    // Ties go to the placement with more trials in all (the follow-ups' placement, say).
    if (!best || fewer > bestFewer || (fewer === bestFewer && b.length + c.length > best.base.length + best.cand.length))
      best = { placement, base: b, cand: c };
  }
  if (best) return best;
  const oneMode = (side: PlacedValue[]) => {
    const modes = byPlacement(side).filter((m) => m.placement !== 'unknown');
    return modes.length === 2 && Math.max(modes[0].median, modes[1].median) / Math.min(modes[0].median, modes[1].median) <= 1 + thresholdPct / 100;
  };
  // Told by the trials, never assumed: a side on one placement only says nothing either way.
  const bothTold =
    byPlacement(base).filter((m) => m.placement !== 'unknown').length === 2 || byPlacement(cand).filter((m) => m.placement !== 'unknown').length === 2;
  const noneApart = [base, cand].every((side) => byPlacement(side).filter((m) => m.placement !== 'unknown').length < 2 || oneMode(side));
  if (bothTold && noneApart && Math.min(base.length, cand.length) >= MIN_PLACED_TRIALS) return pooled();
  return undefined;
}

/** Whether a figure's change is for the worse: msg/s falls, p99 rises. */
export function worseDirection(metric: MetricComparison['metric'], ratio: number): boolean {
  return metric === 'msgsPerSec' ? ratio < 1 : ratio > 1;
}

/** How compareResults was asked to compare: the smallest change that counts, and whether to compute intervals. */
interface CompareSettings {
  thresholdPct: number;
  intervals: boolean;
}

function compareMetric(
  metric: MetricComparison['metric'],
  base: PlacedValue[],
  cand: PlacedValue[],
  { thresholdPct, intervals }: CompareSettings,
): MetricComparison | undefined {
  // A ratio needs positive, finite figures on both sides: a zero or negative one (a broken or
  // hand-edited file) would print Infinity [NaN–NaN] and decide nothing.
  base = base.filter((v) => Number.isFinite(v.value) && v.value > 0);
  cand = cand.filter((v) => Number.isFinite(v.value) && v.value > 0);
  if (base.length === 0 || cand.length === 0) return undefined;
  const matched = matchPlacement(base, cand, thresholdPct);
  if (!matched) {
    const b = median(base.map((v) => v.value));
    const c = median(cand.map((v) => v.value));
    const tooFew = Math.min(base.length, cand.length) < MIN_PLACED_TRIALS;
    return {
      metric,
      baseline: b,
      candidate: c,
      ratio: c / b,
      trials: [base.length, cand.length],
      verdict: 'inconclusive',
      inconclusiveWhy: tooFew ? 'trials' : 'placement',
      basis: tooFew
        ? `${Math.min(base.length, cand.length)} trial(s) on one side; a verdict needs ${MIN_PLACED_TRIALS}`
        : `no placement with ${MIN_PLACED_TRIALS} trials on both sides (baseline: ${count(base)}; candidate: ${count(cand)})`,
    };
  }
  const b = median(matched.base);
  const c = median(matched.cand);
  const ratio = c / b;
  const trials: [number, number] = [matched.base.length, matched.cand.length];
  const t = thresholdPct / 100;
  const test = welchLogTest(matched.base, matched.cand);
  // The candidate is "worse" when its values are lower (throughput) or higher (p99).
  const higherIsBetter = metric === 'msgsPerSec';
  let verdict: Verdict = 'no significant change';
  if (ratio < 1 - t && test.pLower < ALPHA) verdict = higherIsBetter ? 'slower' : 'faster';
  else if (ratio > 1 + t && test.pHigher < ALPHA) verdict = higherIsBetter ? 'faster' : 'slower';
  const where = matched.placement === 'unknown' ? 'all trials' : `${matched.placement} cores`;
  const out: MetricComparison = {
    metric,
    baseline: b,
    candidate: c,
    ratio,
    trials,
    verdict,
    placement: matched.placement,
    // In the direction of the ratio of medians; where the trimmed means point the other way,
    // this p is over 0.5 and can never make a verdict (conservative, not wrong).
    pValue: ratio < 1 ? test.pLower : test.pHigher,
    basis: `Yuen's trimmed t on logs, ${where}, ${trials[0]}+${trials[1]} trials`,
  };
  const ci = intervals ? ratioInterval(matched.base, matched.cand) : undefined;
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

const trialValues = (c: CaseResult, pick: (t: CaseResult['trials'][number]) => number | undefined): PlacedValue[] =>
  c.trials
    .filter((t) => t.status === 'ok')
    .map((t) => ({ value: pick(t), placement: placementOf(t.coreRoundTripNs) }))
    .filter((v): v is PlacedValue => v.value !== undefined && Number.isFinite(v.value));

/** Scenario settings that change what a case measures: cases only compare when these agree. */
const MEASURING_SETTINGS = ['duration', 'warmup', 'capacity', 'verify', 'stall', 'fork', 'pin'] as const;

const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));

/** The scenario settings that change what is measured and differ between the two (`run --confirm-against` checks them before it runs). */
export function settingDifferences(baseline: ResultFile['scenario'], candidate: ResultFile['scenario']): string[] {
  const differences: string[] = [];
  for (const key of MEASURING_SETTINGS) {
    const a = (baseline as Record<string, unknown>)[key];
    const b = (candidate as Record<string, unknown>)[key];
    if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`${key} ${show(a)} → ${show(b)}`);
  }
  return differences;
}

function configurationDifferences(baseline: ResultFile, candidate: ResultFile, base: CaseResult, cand: CaseResult): string[] {
  const differences = settingDifferences(baseline.scenario, candidate.scenario);
  const keys = new Set([...Object.keys(base.params), ...Object.keys(cand.params)]);
  for (const key of keys) {
    const a = (base.params as unknown as Record<string, unknown>)[key];
    const b = (cand.params as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`${key} ${show(a)} → ${show(b)}`);
  }
  if (base.backend !== cand.backend || base.workload !== cand.workload) differences.push(`${base.backend}/${base.workload} → ${cand.backend}/${cand.workload}`);
  const [a, b] = [serverOf(baseline, base), serverOf(candidate, cand)];
  if (a !== b) differences.push(`server ${show(a)} → ${show(b)}`);
  return differences;
}

/**
 * The server a case ran against, as its result file describes it: the version and shape the
 * harness started (a 1-node server and a 3-node cluster are different things to measure), or
 * the address the scenario named. The harness's own ports differ between runs and are left out.
 */
function serverOf(file: ResultFile, c: CaseResult): string | undefined {
  const durability = (c.params as { durability?: string }).durability;
  const server = file.environment.servers?.[serverKey(c.backend, durability)];
  if (!server) return undefined;
  return server.startedByHarness ? server.description : `${server.description} at ${server.url}`;
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
export function compareResults(
  baseline: ResultFile,
  candidate: ResultFile,
  thresholdPct = DEFAULT_THRESHOLD_PCT,
  options: { intervals?: boolean } = {},
): Comparison {
  const settings: CompareSettings = { thresholdPct, intervals: options.intervals ?? true };
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
    // Before the configuration: a case whose server never started has no server record, and
    // must read as lost, not as configured differently.
    if (base.status === 'ok' && cand.status !== 'ok') {
      lostCases.push({ id, reason: `${cand.status} in the candidate${cand.reason ? `: ${cand.reason}` : ''}` });
      continue;
    }
    const differences = configurationDifferences(baseline, candidate, base, cand);
    if (differences.length > 0) {
      mismatched.push({ id, differences });
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
        settings,
      ),
      compareMetric(
        'p99',
        trialValues(base, (t) => t.latencyNs?.p99),
        trialValues(cand, (t) => t.latencyNs?.p99),
        settings,
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
