/**
 * Runs a scenario: plans its cases, runs every trial of every case, and assembles the result
 * file. A failing or hung case is recorded and the suite goes on.
 */
import type { RunningServer } from '../../implementations/network-contract.js';
import { findBackend, isNetworkBackend } from '../../implementations/registry.js';
import { placementSpread } from '../calibration/core-round-trip.js';
import { measureDiskSync } from '../calibration/disk-sync.js';
import { captureEnvironment } from '../calibration/environment.js';
import { measureLatencyFloor } from '../calibration/latency-floor.js';
import { measureNatsRawCeiling } from '../calibration/nats-raw-ceiling.js';
import { measureNetworkFloor } from '../calibration/network-floor.js';
import { OTHER_LOAD_LIMIT_PCT } from '../results/method.js';
import type { CaseResult, Environment, ResultFile, ServerRecord, TrialResult } from '../results/types.js';
import { RESULT_SCHEMA } from '../results/types.js';
import { type PlannedCase, planCases, withBackends } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';
import { runTrialInChild } from './fork.js';
import { summarizeTrials } from './summary.js';
import { runTrial, type TrialServer } from './trial.js';

export interface RunEvents {
  /** Before anything runs: every case of the scenario as planned (the trial count included). */
  planned?(cases: readonly PlannedCase[], scenario: Scenario): void;
  /** `order: rounds`: round `round` (0-based) of `rounds` begins. */
  roundStarted?(round: number, rounds: number): void;
  caseStarted?(planned: PlannedCase, index: number, total: number): void;
  trialFinished?(planned: PlannedCase, trial: TrialResult): void;
  caseFinished?(result: CaseResult, index: number, total: number): void;
}

export interface RunOptions {
  /** Only these backends (CLI --backend). */
  backends?: readonly string[];
  /** Override the scenario's trial count (CLI --trials). */
  trials?: number;
  /** Only the cases with these ids (follow-up trials of `run --confirm-against`). */
  caseIds?: readonly string[];
  events?: RunEvents;
  /** When aborted (Ctrl-C), the cases not yet run are recorded as skipped: interrupted. */
  signal?: AbortSignal;
  /** Measured once per process and shared by the scenarios of one run. */
  environment?: Environment;
}

export async function runScenario(scenario: Scenario, file: string | undefined, options: RunOptions = {}): Promise<ResultFile> {
  // A suite's scenarios share the machine's description, but each has its own start: a second
  // scenario's file must not claim the whole suite's time as its own.
  const environment = options.environment ? { ...options.environment, startedAt: new Date().toISOString() } : captureEnvironment();
  const effective: Scenario = { ...withBackends(scenario, options.backends), trials: options.trials ?? scenario.trials };
  const planned = planCases(effective, findBackend).filter((p) => !options.caseIds || options.caseIds.includes(p.id));
  options.events?.planned?.(planned, effective);
  const { floors, warnings: floorWarnings } = await machineFloors(planned, options.signal, {
    windowNs: scenario.duration,
    natsServerNamed: scenario.servers?.nats?.url !== undefined,
  });
  const cases: CaseResult[] = [];
  // Servers for network backends: started when their first case runs, always stopped at the end.
  const started = new Map<string, RunningServer>();
  const servers: Record<string, ServerRecord> = {};
  const serverFailures = new Map<string, string>();
  try {
    if (effective.order === 'rounds' && effective.trials > 1) {
      cases.push(...(await runInRounds(effective)));
    } else {
      for (const [index, p] of planned.entries()) {
        options.events?.caseStarted?.(p, index, planned.length);
        const result = options.signal?.aborted ? interrupted(p) : await runCase(p, effective);
        cases.push(result);
        options.events?.caseFinished?.(result, index, planned.length);
      }
    }
  } finally {
    await Promise.all([...started.values()].map((s) => s.stop()));
  }
  const warnings = [...environment.warnings, ...floorWarnings, ...runWarnings(cases, environment.cores)];
  return {
    schema: RESULT_SCHEMA,
    scenario: withoutSecrets(file ? { ...effective, file } : effective),
    environment: {
      ...environment,
      warnings,
      finishedAt: new Date().toISOString(),
      ...floors,
      ...(Object.keys(servers).length > 0 ? { servers } : {}),
    },
    cases,
  };

  /**
   * The case's server: the scenario's (`servers:` with a url), or one started now for the rest
   * of the suite, configured for the case's durability (a server per durability) and with the
   * scenario's `nodes`; a string says why there is none.
   */
  async function serverFor(p: PlannedCase, s: Scenario): Promise<TrialServer | string> {
    const id = p.backend;
    const durability = p.params.durability ?? 'none';
    const entry = s.servers?.[id];
    if (entry?.url !== undefined) {
      // Its owner chose how it stores messages; the harness cannot configure it per case.
      if (durability !== 'none')
        return `durability ${durability} needs a server the harness starts and configures; the one named under servers: runs as its owner set it up`;
      servers[id] = { backend: id, url: entry.url, description: 'named by the scenario (servers:), not measured', startedByHarness: false };
      return entry.token ? { url: entry.url, token: entry.token } : { url: entry.url };
    }
    const key = durability === 'none' ? id : `${id}/durability=${durability}`;
    const running = started.get(key);
    if (running) return { url: running.url, ...(running.token ? { token: running.token } : {}), pids: running.pids };
    const failed = serverFailures.get(key);
    if (failed) return failed;
    const backend = findBackend(id);
    if (!backend || !isNetworkBackend(backend) || !backend.startServer) return `${id} needs a server: name one under servers: in the scenario`;
    try {
      const server = await backend.startServer({ durability, nodes: entry?.nodes ?? 1 });
      started.set(key, server);
      servers[key] = { backend: id, durability, url: server.url, description: server.description, startedByHarness: true, pids: [...server.pids] };
      return serverFor(p, s);
    } catch (error) {
      const why = `could not start ${id}'s server: ${(error as Error).message}`;
      serverFailures.set(key, why);
      return why;
    }
  }

  function interrupted(p: PlannedCase): CaseResult {
    return { ...caseHeader(p), status: 'skipped', reason: 'interrupted', trials: [] };
  }

  /** Why a case cannot run at all (skipped or no server), or the server its trials use. */
  async function prepare(p: PlannedCase, s: Scenario): Promise<CaseResult | { server?: TrialServer }> {
    const base = caseHeader(p);
    if (p.skip) return { ...base, status: 'skipped', reason: p.skip, trials: [] };
    if (!isNetworkBackend(findBackend(p.backend)!)) return {};
    const got = await serverFor(p, s);
    if (typeof got === 'string') return { ...base, status: 'failed', reason: got, trials: [] };
    return { server: got };
  }

  /** One trial; null when a signal stopped it (it then says nothing about the queue). */
  async function trialOf(p: PlannedCase, s: Scenario, trial: number, server: TrialServer | undefined): Promise<TrialResult | null> {
    const setup = { planned: p, scenario: s, backend: findBackend(p.backend)!, trial, signal: options.signal, ...(server ? { server } : {}) };
    const result = s.fork === 'process' ? await runTrialInChild(setup) : await runTrial(setup);
    // Also when the signal reached a forked trial process first: interrupted, not failed.
    if (options.signal?.aborted) return null;
    options.events?.trialFinished?.(p, result);
    return result;
  }

  async function runCase(p: PlannedCase, s: Scenario): Promise<CaseResult> {
    const prepared = await prepare(p, s);
    if ('status' in prepared) return prepared;
    const trials: TrialResult[] = [];
    for (let trial = 0; trial < s.trials; trial++) {
      const result = await trialOf(p, s, trial, prepared.server);
      if (result === null) return { ...caseHeader(p), status: 'skipped', reason: 'interrupted', trials };
      trials.push(result);
    }
    return finishedCase(p, s, trials);
  }

  /**
   * `order: rounds`: trial k of every case, for k = 1..trials. A case's trials then lie minutes
   * apart, so the machine's state in any one minute (another tenant, the host's frequency, which
   * regime a ring settles into) lands in one trial of each case rather than in all trials of
   * one: the spread between trials then includes what separates one run from the next, which a
   * comparison of two runs needs. (Run case by case, two 5-trial runs of the same code gave
   * dozens of significant verdicts in both directions: the trials of a case agreed with each
   * other far more than with the other run's.)
   */
  async function runInRounds(s: Scenario): Promise<CaseResult[]> {
    const total = planned.length;
    const done: (CaseResult | undefined)[] = new Array(total);
    const caseServers: (TrialServer | undefined)[] = new Array(total);
    const trials: TrialResult[][] = planned.map(() => []);
    for (let round = 0; round < s.trials && !options.signal?.aborted; round++) {
      options.events?.roundStarted?.(round, s.trials);
      for (const [index, p] of planned.entries()) {
        if (done[index] !== undefined) continue;
        if (round === 0) {
          options.events?.caseStarted?.(p, index, total);
          const prepared = await prepare(p, s);
          if ('status' in prepared) {
            done[index] = prepared;
            options.events?.caseFinished?.(prepared, index, total);
            continue;
          }
          caseServers[index] = prepared.server;
        }
        const result = await trialOf(p, s, round, caseServers[index]);
        if (result === null) break;
        trials[index].push(result);
        if (round === s.trials - 1) {
          done[index] = finishedCase(p, s, trials[index]);
          options.events?.caseFinished?.(done[index]!, index, total);
        }
      }
    }
    // Interrupted: every case not finished keeps the trials it ran.
    return planned.map((p, index) => done[index] ?? { ...caseHeader(p), status: 'skipped', reason: 'interrupted', trials: trials[index] });
  }
}

/**
 * The machine's own figures the planned cases are read against, measured before they run: the
 * latency floor at the highest rate (rate cases), the sockets' round trip (network ping-pong),
 * nats-server's raw ceiling (`nats` throughput on a server the harness starts; each run as long
 * as a trial's window, 0.25–2 s, so a quick suite pays little for it), the disk's fdatasync
 * latency and write rates (durable backends). None once stopped; a reference that could not be
 * measured is a warning.
 */
export async function machineFloors(
  planned: readonly PlannedCase[],
  signal: AbortSignal | undefined,
  { windowNs = 2e9, natsServerNamed = false }: { windowNs?: number; natsServerNamed?: boolean } = {},
): Promise<{ floors: Pick<Environment, 'latencyFloor' | 'networkFloor' | 'serverCeilings' | 'diskSync'>; warnings: string[] }> {
  const runs = planned.filter((p) => !p.skip);
  const warnings: string[] = [];
  const rates = runs.filter((p) => p.params.rate !== undefined).map((p) => p.params.rate!);
  const latencyFloor = rates.length > 0 && !signal?.aborted ? await measureLatencyFloor(Math.max(...rates)) : undefined;
  const networkPingPong = runs.some((p) => p.workload === 'ping-pong' && isNetworkBackend(findBackend(p.backend)!));
  const networkFloor = networkPingPong && !signal?.aborted ? await measureNetworkFloor() : undefined;
  // The brokers' reference: nats-server's own ceiling, where its client's throughput is measured
  // on a server of the harness's (one named by `servers:` runs elsewhere: nothing here is its ceiling).
  const ceilingPayloads = natsServerNamed
    ? []
    : [...new Set(runs.filter((p) => p.backend === 'nats' && p.workload === 'throughput').map((p) => p.params.payload))];
  let serverCeilings: Environment['serverCeilings'];
  if (ceilingPayloads.length > 0 && !signal?.aborted) {
    const ceiling = await measureNatsRawCeiling(ceilingPayloads, Math.min(2, Math.max(0.25, windowNs / 1e9)), 3, signal);
    if ('ceilings' in ceiling) serverCeilings = ceiling.ceilings;
    else if (!signal?.aborted) warnings.push(ceiling.problem);
  }
  const durable = runs.some((p) => findBackend(p.backend)?.traits.durable === true);
  const diskSync = durable && !signal?.aborted ? measureDiskSync() : undefined;
  return {
    floors: {
      ...(latencyFloor ? { latencyFloor } : {}),
      ...(networkFloor ? { networkFloor } : {}),
      ...(serverCeilings ? { serverCeilings } : {}),
      ...(diskSync ? { diskSync } : {}),
    },
    warnings,
  };
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

/** The scenario as the result file keeps it: a server's token is a secret, not a figure, and results get published. */
function withoutSecrets<S extends Scenario>(scenario: S): S {
  if (!scenario.servers) return scenario;
  const servers = Object.fromEntries(Object.entries(scenario.servers).map(([id, s]) => [id, s.token ? { ...s, token: '(redacted)' } : s]));
  return { ...scenario, servers };
}
