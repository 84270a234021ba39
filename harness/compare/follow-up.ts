/**
 * Follow-up trials: the second look Chromium's Pinpoint takes before it calls a change. A suite
 * run with a few trials a case screens every figure against the baseline; the cases whose
 * figures look worse beyond the threshold (even unconfirmed, even not significant, even not
 * judged for want of trials on a shared placement) are run again with more trials, in rounds,
 * and the verdict is taken on all their trials together.
 *
 * Why that holds the false-alarm rate: a figure can fail the gate only through the final test
 * on all its trials, so the chance of a false verdict is at most that test's level, whatever
 * the screen chose; the screen only decides where more trials are worth the machine's time.
 * Why it finds the one case that got slower: a case followed up has 3× its trials, and the t-test's
 * p then falls with the change against the spread, far enough to stand among the family.
 */

import type { CaseResult, ResultFile } from '../results/types.js';
import { summarizeTrials } from '../run/summary.js';
import { type Comparison, type MetricComparison, worseDirection } from './compare.js';

/** A figure worse beyond the threshold is followed up when its one-sided p is below this. */
export const SCREEN_P = 0.1;
/** Trials added to each case followed up (`--follow-up`). */
export const FOLLOW_UP_TRIALS = 10;
/** At most this many cases are followed up, most suspect first (`--follow-up-cases`). */
export const FOLLOW_UP_CASES = 12;
/** Trials a case the recommended baseline is made with (`nanomq baseline`'s default). */
export const BASELINE_TRIALS = 10;
/** Trials a case the recommended candidate run makes before its follow-ups. */
export const CANDIDATE_TRIALS = 5;

export interface Suspect {
  id: string;
  /** The figure that made it a suspect, for the log and the result file. */
  why: string;
  /** Its p (figures not judged rank as SCREEN_P, after every judged suspect). */
  p: number;
}

/** Why a figure makes its case a suspect (worse beyond the threshold, and p under SCREEN_P or not judged), or undefined. */
export function suspicion(m: MetricComparison, thresholdPct: number): { p: number; why: string } | undefined {
  if (!worseDirection(m.metric, m.ratio) || Math.abs(m.ratio - 1) <= thresholdPct / 100) return undefined;
  const figure = `${m.metric === 'p99' ? 'p99' : 'msg/s'} ${m.ratio.toFixed(3)}×`;
  // Figures not judged go after every judged suspect: more trials help them only if the cores
  // land on the placement the baseline has.
  if (m.verdict === 'inconclusive') return { p: SCREEN_P, why: `${figure}, not judged (${m.basis})` };
  if (m.pValue !== undefined && m.pValue < SCREEN_P) return { p: m.pValue, why: `${figure}, p=${m.pValue.toFixed(3)}` };
  return undefined;
}

/**
 * The cases a gate could not answer for: a figure worse beyond the threshold that could not be
 * judged (too few trials on a placement both sides share). Only the figure that looks worse
 * counts, not any figure of the case. With `among`, only those cases (the ones followed up).
 * One rule for `run --confirm-against`, `ab` and the gate simulation: each exits 5 on it.
 */
export function unansweredCases(c: Comparison, thresholdPct: number, among?: ReadonlySet<string>): string[] {
  return c.cases
    .filter((k) => !among || among.has(k.id))
    .filter((k) => k.metrics.some((m) => m.verdict === 'inconclusive' && suspicion(m, thresholdPct) !== undefined))
    .map((k) => k.id);
}

/** The cases to follow up, most suspect first, at most `maxCases`. */
export function suspects(c: Comparison, maxCases = FOLLOW_UP_CASES): Suspect[] {
  const found: Suspect[] = [];
  for (const k of c.cases) {
    const worst = k.metrics
      .map((m) => suspicion(m, c.thresholdPct))
      .filter((s): s is { p: number; why: string } => s !== undefined)
      .sort((a, b) => a.p - b.p)[0];
    if (worst) found.push({ id: k.id, ...worst });
  }
  return found.sort((a, b) => a.p - b.p).slice(0, maxCases);
}

/**
 * The run with its follow-up trials added to their cases: numbered on from the case's own,
 * marked `followUp`, the summary taken again over all of them. A follow-up trial that failed
 * fails its case, as any trial does.
 */
export function withFollowUps(main: ResultFile, followUp: ResultFile, record: NonNullable<ResultFile['followUp']>): ResultFile {
  const extra = new Map(followUp.cases.map((c) => [c.id, c]));
  const cases = main.cases.map((c): CaseResult => {
    const more = extra.get(c.id);
    if (!more) return c;
    // Its server would not start again, say: the case failed, as it would have in the suite.
    if (more.trials.length === 0) return more.status === 'failed' && c.status === 'ok' ? { ...c, status: 'failed', reason: `follow-up: ${more.reason}` } : c;
    const trials = [...c.trials, ...more.trials.map((t, i) => ({ ...t, trial: c.trials.length + i, followUp: true }))];
    const summary = summarizeTrials(trials, main.scenario.slo);
    const failed = more.trials.find((t) => t.status === 'failed');
    if (c.status !== 'ok') return { ...c, trials, ...(summary ? { summary } : {}) };
    if (!failed) return { ...c, trials, summary: summary ?? c.summary };
    const reason = `follow-up trial ${c.trials.length + more.trials.indexOf(failed) + 1}: ${failed.reason}`;
    return { ...c, status: 'failed', reason, trials, ...(summary ? { summary } : {}) };
  });
  const warnings = [...new Set([...main.environment.warnings, ...followUp.environment.warnings])];
  return {
    ...main,
    environment: { ...main.environment, warnings, ...(followUp.environment.finishedAt ? { finishedAt: followUp.environment.finishedAt } : {}) },
    cases,
    followUp: { ...record, cases: record.cases.map((k) => ({ ...k, added: extra.get(k.id)?.trials.length ?? 0 })) },
  };
}
