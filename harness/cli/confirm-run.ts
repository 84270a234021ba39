/**
 * `run --confirm-against BASELINE`: the recommended gate. After the suite, every figure is
 * screened against the baseline; the cases that look worse get follow-up trials
 * (compare/follow-up.ts), added to the result file, and the verdict is taken on all of them.
 */
import { findBackend } from '../../implementations/registry.js';
import { type Comparison, compareResults } from '../compare/compare.js';
import { suspects, unansweredCases, withFollowUps } from '../compare/follow-up.js';
import type { ResultFile } from '../results/types.js';
import { estimateScenario, formatEta } from '../run/estimate.js';
import { type RunOptions, runScenario } from '../run/runner.js';
import { planCases } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';
import { progressReporter } from './progress.js';

export interface ConfirmSettings {
  baseline: ResultFile;
  baselinePath: string;
  thresholdPct: number;
  /** Trials added to each case followed up (0: the screen is printed, nothing is re-run). */
  trials: number;
  maxCases: number;
}

export interface ConfirmedRun {
  result: ResultFile;
  comparison: Comparison;
  /** Followed-up cases whose worse-looking figure still could not be judged (its trials never shared a placement with the baseline's): the gate could not answer for them. */
  unjudged: string[];
  /** Cases that looked worse and were not followed up (beyond --follow-up-cases, or --follow-up 0, or the run was stopped). */
  notFollowedUp: string[];
}

/** The run held against its baseline: follow-up trials where the screen found a suspect, then the comparison. */
export async function confirmAgainst(
  result: ResultFile,
  scenario: Scenario,
  file: string,
  settings: ConfirmSettings,
  options: Pick<RunOptions, 'signal' | 'environment'>,
  say: (line: string) => void,
): Promise<ConfirmedRun> {
  // Only the cases this run planned (a --backend subset is not a suite that lost the others).
  const planned = new Set(result.cases.map((c) => c.id));
  const baseline = { ...settings.baseline, cases: settings.baseline.cases.filter((c) => planned.has(c.id)) };
  const compare = (candidate: ResultFile) => compareResults(baseline, candidate, settings.thresholdPct);
  const screen = compareResults(baseline, result, settings.thresholdPct, { intervals: false });
  const found = suspects(screen, settings.maxCases);
  const judged = (candidate: ResultFile, comparison: Comparison): ConfirmedRun => {
    const followed = new Set(candidate.followUp?.cases.map((c) => c.id));
    return {
      result: candidate,
      comparison,
      unjudged: unansweredCases(comparison, settings.thresholdPct, followed),
      notFollowedUp: suspects(comparison, Number.POSITIVE_INFINITY)
        .map((s) => s.id)
        .filter((id) => !followed.has(id)),
    };
  };
  const record = (trials: number, cases: typeof found) => ({
    against: settings.baselinePath,
    trials,
    cases: cases.map(({ id, why }) => ({ id, why, added: 0 })),
  });
  if (found.length === 0 || settings.trials === 0 || options.signal?.aborted) {
    const why =
      found.length === 0
        ? `no case looks worse than ${settings.baselinePath} beyond ${settings.thresholdPct}%`
        : `${found.length} case(s) look worse than ${settings.baselinePath}, but ${options.signal?.aborted ? 'the run was stopped' : '--follow-up is 0'}`;
    say(`follow-up: ${why}: no follow-up trials`);
    const held = { ...result, followUp: record(0, []) };
    return judged(held, compare(held));
  }
  const again: Scenario = { ...scenario, order: 'rounds', trials: settings.trials };
  const cases = planCases(again, findBackend).filter((p) => found.some((s) => s.id === p.id));
  say(
    `follow-up: ${found.length} case(s) look worse than ${settings.baselinePath} beyond ${settings.thresholdPct}%; ${settings.trials} more trials each, in rounds (about ${formatEta(estimateScenario(cases, again).seconds)}):`,
  );
  for (const s of found) say(`  ${s.id}: ${s.why}`);
  const progress = progressReporter(`${scenario.name} follow-up`);
  let extra: ResultFile;
  try {
    extra = await runScenario(again, file, { ...options, caseIds: found.map((s) => s.id), events: progress });
  } finally {
    progress.stop();
  }
  const held = withFollowUps(result, extra, record(settings.trials, found));
  return judged(held, compare(held));
}
