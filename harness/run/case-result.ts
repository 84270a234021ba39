/**
 * A case's result, made from what ran: its header, its verdict over the trials, and the
 * warnings a run's cases earn it.
 */
import { placementSpread } from '../calibration/core-round-trip.js';
import { OTHER_LOAD_LIMIT_PCT } from '../results/method.js';
import type { CaseResult, TrialResult } from '../results/types.js';
import type { PlannedCase } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';
import { summarizeTrials } from './summary.js';

/** What a case's result says about the case itself, whatever became of it. */
export function caseHeader(p: PlannedCase): Pick<CaseResult, 'id' | 'backend' | 'workload' | 'params' | 'oversubscribed' | 'noHeadroom' | 'busyThreads'> {
  return {
    id: p.id,
    backend: p.backend,
    workload: p.workload,
    params: p.params,
    oversubscribed: p.oversubscribed,
    noHeadroom: p.noHeadroom,
    busyThreads: p.busyThreads,
  };
}

/** A case that did not run to its end: `reason` says why (the plan's skip, or `interrupted`, keeping the trials that ran). */
export function skippedCase(p: PlannedCase, reason: string, trials: TrialResult[] = []): CaseResult {
  return { ...caseHeader(p), status: 'skipped', reason, trials };
}

/** A case's result from the trials it ran: failed if any trial failed, summarised over all. */
export function finishedCase(p: PlannedCase, s: Scenario, trials: TrialResult[]): CaseResult {
  // The keys in the order the file has always had them: header, status, trials, reason, summary, pinned.
  const pinned = s.pin ? { pinned: trials.every((t) => t.pinned === true) } : {};
  const failedTrial = trials.find((t) => t.status === 'failed');
  const summary = summarizeTrials(trials, s.slo);
  if (failedTrial) {
    const reason = `trial ${failedTrial.trial + 1}: ${failedTrial.reason}`;
    return { ...caseHeader(p), status: 'failed', trials, reason, ...(summary ? { summary } : {}), ...pinned };
  }
  // Every trial ok yet none carried a delivery count (figures.ts always sets one): nothing was
  // verified, so the case is not reported as ok.
  if (!summary) return { ...caseHeader(p), status: 'failed', trials, reason: 'no trial reported what it delivered', ...pinned };
  return { ...caseHeader(p), status: 'ok', trials, summary, ...pinned };
}

/** The warnings a run's cases earn it (other load, more busy threads than cores, a moving placement). */
export function runWarnings(cases: readonly CaseResult[], cores: number): string[] {
  const oversubscribed = cases.filter((c) => c.oversubscribed && c.status !== 'skipped').length;
  const warnings: string[] = [];
  const noisy = cases.filter((c) => (c.summary?.cpu?.otherPct ?? 0) > OTHER_LOAD_LIMIT_PCT).length;
  if (noisy > 0)
    warnings.push(
      `${noisy} case(s) ran while other programs used more than ${OTHER_LOAD_LIMIT_PCT}% of a core (flagged NOISY): re-run them on a quiet machine before publishing`,
    );
  if (oversubscribed > 0) warnings.push(`${oversubscribed} case(s) ran more busy threads than the ${cores} cores: their figures include scheduler effects`);
  const spread = placementSpread(cases.flatMap((c) => c.trials.map((t) => t.coreRoundTripNs)));
  if (spread)
    warnings.push(
      `the core-to-core round trip ranged ${Math.round(spread[0])}–${Math.round(spread[1])} ns across trials (trials[].coreRoundTripNs): the host moved this machine's cores during the run, and figures that move cache lines between threads swing with that alone (up to 3× on the VMs behind docs/method.md); compare trials of like placement, or run in rounds`,
    );
  return warnings;
}
