/**
 * The gate's power and false-alarm rate, simulated with noise that is real: every simulated
 * trial is a real trial of the same case, drawn (with replacement) from real result files of
 * one scenario, with its throughput, p99 and placement together. A simulated comparison takes
 * its baseline from one real run and its candidate (follow-up trials included) from another,
 * so what separates two runs of unchanged code minutes apart (the machine's state, where the
 * host put the cores) is in it, not only the spread within a run.
 *
 * Unchanged: the candidate's trials as they were. Changed: one case's candidate trials (and
 * its follow-ups) scaled, msg/s × factor or p99 × factor. The gate is the one `run
 * --confirm-against` applies: compare, follow up the suspects, compare again.
 */
import { seededRandom, shuffleInPlace } from '../metrics/stats.js';
import { placementOf } from '../results/placement.js';
import type { CaseResult, ResultFile, TrialResult } from '../results/types.js';
import { compareResults, DEFAULT_THRESHOLD_PCT } from './compare.js';
import { BASELINE_TRIALS, CANDIDATE_TRIALS, FOLLOW_UP_CASES, FOLLOW_UP_TRIALS, suspects, unansweredCases } from './follow-up.js';

export interface GateSettings {
  baselineTrials: number;
  candidateTrials: number;
  followUpTrials: number;
  followUpCases: number;
  thresholdPct: number;
}

export const RECOMMENDED: GateSettings = {
  baselineTrials: BASELINE_TRIALS,
  candidateTrials: CANDIDATE_TRIALS,
  followUpTrials: FOLLOW_UP_TRIALS,
  followUpCases: FOLLOW_UP_CASES,
  thresholdPct: DEFAULT_THRESHOLD_PCT,
};

export interface Effect {
  metric: 'msgsPerSec' | 'p99';
  factor: number;
}

export interface SimulatedGate {
  /** The gate failed (a regression anywhere): exit 4. */
  failed: boolean;
  /** The gate could not answer (exit 5). */
  notJudged: boolean;
  /** The changed case was called slower (undefined without a change). */
  found?: boolean;
  /** Follow-up trials the gate ran. */
  followUpTrials: number;
}

function okTrials(c: CaseResult): TrialResult[] {
  return c.trials.filter((t) => t.status === 'ok' && t.msgsPerSec !== undefined);
}

function scaled(t: TrialResult, effect: Effect | undefined): TrialResult {
  if (!effect) return t;
  if (effect.metric === 'msgsPerSec') return { ...t, msgsPerSec: t.msgsPerSec! * effect.factor };
  return t.latencyNs?.p99 !== undefined ? { ...t, latencyNs: { ...t.latencyNs, p99: t.latencyNs.p99 * effect.factor } } : t;
}

/**
 * A run of `n` trials a case drawn from real runs: shared out evenly between the sources, and
 * within each source without replacement while its trials last (so a 10-trial baseline from two
 * 5-trial runs is exactly those ten trials: what varies between simulated comparisons is the
 * casting of runs, the changed case, and draws beyond a run's own trials), with replacement beyond.
 */
function draw(sources: readonly ResultFile[], ids: readonly string[], n: number, random: () => number, change?: { id: string; effect: Effect }): ResultFile {
  const byId = sources.map((source) => new Map(source.cases.map((c) => [c.id, c])));
  const cases = ids.map((id) => {
    const trials: TrialResult[] = [];
    for (const [k, cases] of byId.entries()) {
      const want = Math.floor(n / sources.length) + (k < n % sources.length ? 1 : 0);
      const pool = okTrials(cases.get(id)!);
      const order = shuffleInPlace(
        pool.map((_, i) => i),
        random,
      );
      for (let i = 0; i < want; i++) {
        const pick = i < order.length ? pool[order[i]] : pool[Math.floor(random() * pool.length)];
        trials.push({ ...scaled(pick, change?.id === id ? change.effect : undefined), trial: trials.length });
      }
    }
    return { ...byId[0].get(id)!, trials };
  });
  return { ...sources[0], scenario: { ...sources[0].scenario, trials: n }, cases };
}

/** The cases every run holds with enough ok trials to draw from. */
export function sharedCases(runs: readonly ResultFile[]): string[] {
  const [first, ...rest] = runs;
  return first.cases
    .filter((c) => c.status === 'ok' && okTrials(c).length >= 3)
    .map((c) => c.id)
    .filter((id) => rest.every((r) => r.cases.some((c) => c.id === id && c.status === 'ok' && okTrials(c).length >= 3)));
}

/**
 * One simulated gate: the baseline drawn from `base`, the candidate from `cand`, and its
 * follow-up trials from `followUp`: a third run, since real follow-up trials run minutes after
 * the suite, in whatever state the machine is in by then. (Drawn from the candidate's own five
 * trials instead, fifteen trials would pin the candidate to that one run's luck.)
 */
export function simulateGate(
  base: readonly ResultFile[],
  cand: ResultFile,
  followUp: readonly ResultFile[],
  ids: readonly string[],
  settings: GateSettings,
  random: () => number,
  change?: { id: string; effect: Effect },
): SimulatedGate {
  const baseline = draw(base, ids, settings.baselineTrials, random);
  const candidate = draw([cand], ids, settings.candidateTrials, random, change);
  const screen = compareResults(baseline, candidate, settings.thresholdPct, { intervals: false });
  const chosen = settings.followUpTrials > 0 ? suspects(screen, settings.followUpCases).map((s) => s.id) : [];
  let final = screen;
  if (chosen.length > 0) {
    const extra = draw(followUp, chosen, settings.followUpTrials, random, change);
    const more = new Map(extra.cases.map((c) => [c.id, c.trials]));
    const merged: ResultFile = {
      ...candidate,
      cases: candidate.cases.map((c) => (more.has(c.id) ? { ...c, trials: [...c.trials, ...more.get(c.id)!] } : c)),
    };
    final = compareResults(baseline, merged, settings.thresholdPct, { intervals: false });
  }
  const found = change
    ? final.cases.find((c) => c.id === change.id)?.metrics.some((m) => m.metric === change.effect.metric && m.verdict === 'slower')
    : undefined;
  // Exit 5, as `run --confirm-against` decides it: nothing judged, or a followed-up case whose
  // worse-looking figure is still not judged.
  const notJudged = final.regressions === 0 && (final.tested === 0 || unansweredCases(final, settings.thresholdPct, new Set(chosen)).length > 0);
  return { failed: final.regressions > 0, notJudged, found, followUpTrials: chosen.length * settings.followUpTrials };
}

/**
 * Whether a case's figure is one mode on each placement in every run: no trial further than
 * `spread` from the median of its placement's trials. The power target is stated for these:
 * a case whose trials on one placement already differ 1.5× between themselves can hide a
 * 0.67× change from any test.
 */
export function unimodalAtPlacement(runs: readonly ResultFile[], id: string, metric: Effect['metric'], spread = 1.25): boolean {
  for (const r of runs) {
    const c = r.cases.find((x) => x.id === id);
    if (!c) return false;
    const trials = okTrials(c);
    for (const placement of ['near', 'far', 'unknown'] as const) {
      const values = trials
        .filter((t) => placementOf(t.coreRoundTripNs) === placement)
        .map((t) => (metric === 'msgsPerSec' ? t.msgsPerSec : t.latencyNs?.p99))
        .filter((v): v is number => v !== undefined && v > 0)
        .sort((a, b) => a - b);
      if (values.length === 0) continue;
      const mid = values[Math.floor(values.length / 2)];
      if (values[values.length - 1] / mid > spread || mid / values[0] > spread) return false;
    }
  }
  return true;
}

/** Which real runs play which part in one simulated comparison. */
interface Roles {
  baseline: number[];
  candidate: number;
  followUp: number[];
}

/**
 * Every way of casting the runs: as many runs for the baseline as its trials need (10 trials
 * from 5-trial runs: two), a different one for the candidate, and for the follow-ups as many
 * runs again as their trials need, none used twice while runs last (then the follow-ups reuse
 * the candidate's run: the optimistic case, said by the script).
 */
export function assignRoles(runCount: number, settings: GateSettings, trialsPerRun: number): Roles[] {
  const need = (trials: number) => Math.max(1, Math.ceil(trials / trialsPerRun));
  const nb = Math.min(need(settings.baselineTrials), runCount - 1);
  const nf = need(settings.followUpTrials);
  const seen = new Set<string>();
  const out: Roles[] = [];
  const all = Array.from({ length: runCount }, (_, i) => i);
  const subsets = (from: number[], k: number): number[][] =>
    k === 0 ? [[]] : from.flatMap((x, i) => subsets(from.slice(i + 1), k - 1).map((rest) => [x, ...rest]));
  for (const baseline of subsets(all, nb))
    for (const candidate of all.filter((x) => !baseline.includes(x))) {
      const left = all.filter((x) => !baseline.includes(x) && x !== candidate);
      const options = left.length >= nf ? subsets(left, nf) : [[candidate]];
      for (const followUp of options) {
        const key = `${baseline}|${candidate}|${followUp}`;
        if (!seen.has(key)) {
          seen.add(key);
          out.push({ baseline, candidate, followUp });
        }
      }
    }
  return out;
}

export interface GateRates {
  comparisons: number;
  /** Distinct ways the real runs were cast as baseline, candidate and follow-ups. */
  castings: number;
  /** Too few runs: the follow-ups were drawn from the candidate's own run (they then repeat its trials: optimistic). */
  followUpsReuseCandidate: boolean;
  /** Share of comparisons the gate failed (exit 4). */
  failedShare: number;
  /** Share of comparisons the gate could not answer (exit 5). */
  notJudgedShare: number;
  /** Share of comparisons whose changed case was called slower (all targets). */
  foundShare?: number;
  /** The same, over comparisons whose target is unimodal at its placement. */
  foundUnimodalShare?: number;
  unimodalComparisons?: number;
  /** Mean follow-up trials per comparison. */
  meanFollowUpTrials: number;
}

/**
 * `comparisons` simulated gates, cycling through the castings of the runs (assignRoles); with an
 * effect, the changed case is drawn at random among the shared cases each time.
 */
export function gateRates(runs: readonly ResultFile[], comparisons: number, settings: GateSettings, effect?: Effect, seed = 2026): GateRates {
  const random = seededRandom(seed);
  const ids = sharedCases(runs);
  // In a seeded random order, so a run of comparisons fewer than the castings is not all one baseline.
  const roles = shuffleInPlace(assignRoles(runs.length, settings, runs[0].scenario.trials), random);
  const unimodal = new Map(ids.map((id) => [id, effect ? unimodalAtPlacement(runs, id, effect.metric) : true]));
  let failed = 0;
  let notJudged = 0;
  let found = 0;
  let foundUnimodal = 0;
  let unimodalCount = 0;
  let followUps = 0;
  for (let i = 0; i < comparisons; i++) {
    const role = roles[i % roles.length];
    const target = ids[Math.floor(random() * ids.length)];
    const pick = (indices: number[]) => indices.map((k) => runs[k]);
    const g = simulateGate(pick(role.baseline), runs[role.candidate], pick(role.followUp), ids, settings, random, effect ? { id: target, effect } : undefined);
    if (g.failed) failed++;
    if (g.notJudged) notJudged++;
    followUps += g.followUpTrials;
    if (effect) {
      if (g.found) found++;
      if (unimodal.get(target)) {
        unimodalCount++;
        if (g.found) foundUnimodal++;
      }
    }
  }
  const out: GateRates = {
    comparisons,
    castings: roles.length,
    followUpsReuseCandidate: roles.some((r) => r.followUp.includes(r.candidate)),
    failedShare: failed / comparisons,
    notJudgedShare: notJudged / comparisons,
    meanFollowUpTrials: followUps / comparisons,
  };
  if (effect) {
    out.foundShare = found / comparisons;
    out.foundUnimodalShare = unimodalCount > 0 ? foundUnimodal / unimodalCount : undefined;
    out.unimodalComparisons = unimodalCount;
  }
  return out;
}

/**
 * Real runs kept small for the simulation: each trial's status, msg/s, p99 and core round trip,
 * and what compare matches cases on, without the histograms (results/baselines/gate-noise.json,
 * made by `node scripts/gate-simulation.mjs extract`).
 */
export interface NoiseRun {
  file: string;
  scenario: ResultFile['scenario'];
  environment: Pick<ResultFile['environment'], 'node' | 'cpuModel' | 'cores' | 'startedAt' | 'gitCommit'>;
  cases: {
    id: string;
    backend: string;
    workload: string;
    params: CaseResult['params'];
    status: CaseResult['status'];
    /** [ok, msg/s, p99 ns, core round trip ns] per trial, null where not recorded. */
    trials: [boolean, number | null, number | null, number | null][];
  }[];
}

export function toNoiseRun(file: string, r: ResultFile): NoiseRun {
  const { node, cpuModel, cores, startedAt, gitCommit } = r.environment;
  return {
    file,
    scenario: r.scenario,
    environment: { node, cpuModel, cores, startedAt, gitCommit },
    cases: r.cases.map((c) => ({
      id: c.id,
      backend: c.backend,
      workload: c.workload,
      params: c.params,
      status: c.status,
      trials: c.trials.map((t) => [t.status === 'ok', t.msgsPerSec ?? null, t.latencyNs?.p99 ?? null, t.coreRoundTripNs ?? null]),
    })),
  };
}

/** A noise run as the result file compare reads (figures the simulation does not use are left out). */
export function fromNoiseRun(n: NoiseRun): ResultFile {
  return {
    schema: 'nanomq.result/1',
    scenario: n.scenario,
    environment: { ...n.environment, warnings: [] } as unknown as ResultFile['environment'],
    cases: n.cases.map((c): CaseResult => {
      const header = {
        id: c.id,
        backend: c.backend,
        workload: c.workload as CaseResult['workload'],
        params: c.params,
        oversubscribed: false,
        trials: c.trials.map(
          ([ok, msgsPerSec, p99, rt], trial): TrialResult => ({
            trial,
            status: ok ? 'ok' : 'failed',
            ...(msgsPerSec !== null ? { msgsPerSec } : {}),
            ...(p99 !== null ? { latencyNs: { p50: p99, p99, max: p99, count: 0, histogram: '' } } : {}),
            ...(rt !== null ? { coreRoundTripNs: rt } : {}),
          }),
        ),
      };
      // compare reads the trials, never the summary: an ok case's summary says only how many there are.
      if (c.status === 'ok') return { ...header, status: 'ok', summary: { trials: c.trials.length } };
      return { ...header, status: c.status, reason: `${c.status} in noise run ${n.file} (noise runs keep no reason)` };
    }),
  };
}
