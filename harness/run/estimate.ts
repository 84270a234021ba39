/**
 * How long a scenario will take, before it runs (`run --dry-run`) and while it runs (the
 * progress line's ETA, which starts from this and then follows the pace actually measured).
 *
 * A trial costs its warm-up and window, plus what surrounds them: starting threads, draining
 * after STOP, writing the figures, and for network backends the connections and the server's
 * sampling. Those overheads are measured, not guessed: the curated baselines took 486 s for
 * quick (56 cases × 5 trials × 1.5 s = 420 s nominal: 0.24 s a trial more) and 115 s for
 * broker (12 × 5 × 1.5 s = 90 s: 0.42 s a trial more, servers started included).
 */
import { findBackend, isNetworkBackend } from '../../implementations/registry.js';
import type { PlannedCase } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';

/** Seconds around each in-process trial (see above). */
export const IN_PROCESS_TRIAL_OVERHEAD_S = 0.25;
/** Seconds around each network trial, its share of the server's start included. */
export const NETWORK_TRIAL_OVERHEAD_S = 0.45;
/** A trial in its own Node process (`fork: process`) also pays that process's start. */
export const FORKED_TRIAL_OVERHEAD_S = 0.3;
/** Before a scenario's cases: the latency and network floors, the disk's sync figures. */
export const SCENARIO_OVERHEAD_S = 2;

/** Seconds one trial of this case is expected to take (0 for a case that will be skipped). */
export function trialSeconds(p: PlannedCase, s: Scenario): number {
  if (p.skip) return 0;
  const backend = findBackend(p.backend);
  const network = backend !== undefined && isNetworkBackend(backend);
  return (
    (s.warmup + s.duration) / 1e9 + (network ? NETWORK_TRIAL_OVERHEAD_S : IN_PROCESS_TRIAL_OVERHEAD_S) + (s.fork === 'process' ? FORKED_TRIAL_OVERHEAD_S : 0)
  );
}

export interface ScenarioEstimate {
  cases: number;
  skipped: number;
  trials: number;
  seconds: number;
}

export function estimateScenario(planned: readonly PlannedCase[], s: Scenario): ScenarioEstimate {
  const runs = planned.filter((p) => !p.skip);
  return {
    cases: planned.length,
    skipped: planned.length - runs.length,
    trials: runs.length * s.trials,
    seconds: SCENARIO_OVERHEAD_S + runs.reduce((sum, p) => sum + s.trials * trialSeconds(p, s), 0),
  };
}

/** 8m06s, 45s, 1h02m: the way an estimate is read. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
