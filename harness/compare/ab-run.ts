/**
 * In-run A/B (`nanomq ab A B scenario.yaml`): two builds of the project measured in one run,
 * case by case, their trials alternating, so that both sides see the same minute of the machine.
 *
 *   round 0:  case 1: A B   case 2: B A   case 3: A B   …
 *   round 1:  case 1: B A   case 2: A B   case 3: B A   …
 *   …         (each trial a fresh process of its side's build: the `_trial` command, run/fork.ts)
 *
 * Why: two runs made minutes or hours apart differ by more than their code. On the 2-core VMs
 * behind docs/method.md, one case's trials of unchanged code read 3.0M msg/s in one run and 5.2M
 * in the next, on the same placement of the cores; a baseline made in the slow hour hid a
 * slowdown to 0.67× in two real gate runs of four. Trials of A and B taken seconds apart share
 * that hour, whatever it was; the order within a pair alternates, so neither side always runs
 * on a machine the other has just warmed. This is Chromium Pinpoint's interleaved A/B.
 *
 * What it does not cover: network backends. Their server is the code under test for the
 * broker, and it would be this build's for both sides; `ab` skips them and says so (hold two
 * `run`s against each other with `compare` instead).
 */
import { resolve } from 'node:path';
import { findBackend, isNetworkBackend } from '../../implementations/registry.js';
import { gitCommit } from '../calibration/environment.js';
import type { CaseResult, Environment, ResultFile, TrialResult } from '../results/types.js';
import { RESULT_SCHEMA } from '../results/types.js';
import { finishedCase, runWarnings, skippedCase } from '../run/case-result.js';
import type { RunEvents } from '../run/case-runner.js';
import { runTrialInChild } from '../run/fork.js';
import { machineFloors } from '../run/machine-floors.js';
import type { TrialSetup } from '../run/trial-setup.js';
import { type PlannedCase, planCases, withBackends } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';

/**
 * Trials of each case on each side unless --trials says otherwise (the scenario's own count is
 * for `run`). Ten, not compare's minimum of 5: on this project's 2-core VMs one trial of a ring
 * case can read 1.5× its neighbour on the same placement, and at 5 pairs a slowdown read at
 * 0.72–0.92× was found in 3 runs of 5 (docs/method.md).
 */
export const AB_TRIALS = 10;

/** One side of an A/B: a checkout of this project with its build (dist/) in place. */
export interface AbBuild {
  /** The folder as the user named it. */
  dir: string;
  /** Its CLI, whose hidden `_trial` command runs one trial with that build's code. */
  cli: string;
}

export interface AbOptions {
  /** Only these backends (CLI --backend). */
  backends?: readonly string[];
  /** Trials of each case on each side. */
  trials: number;
  events?: AbEvents;
  /** When aborted, each side keeps the trials that ran (cases not finished are skipped: interrupted). */
  signal?: AbortSignal;
  environment: Environment;
  /** How one trial is run with a build's CLI (tests put a fake here); a fresh process of it by default. */
  runTrial?: (setup: TrialSetup, cli: string) => Promise<TrialResult>;
}

export interface AbEvents {
  planned?: RunEvents['planned'];
  roundStarted?: RunEvents['roundStarted'];
  /** One trial of the case on each side, in round `round` (0-based). */
  pairFinished?(planned: PlannedCase, round: number, a: TrialResult, b: TrialResult): void;
}

/** Why `ab` does not run a network backend's cases (see the header). */
export const AB_NETWORK_SKIP = "not run by ab: a network backend's server would be this build's for both sides (hold two runs against each other with compare)";

/** Runs the scenario's cases on both builds, trials alternating; returns A's result file and B's. */
export async function runAb(scenario: Scenario, file: string, builds: readonly [AbBuild, AbBuild], options: AbOptions): Promise<[ResultFile, ResultFile]> {
  if (options.trials % 2 !== 0)
    throw new Error(`ab needs an even number of trials (got ${options.trials}): each build runs first in half of each case's pairs`);
  const runTrial = options.runTrial ?? runTrialInChild;
  // servers: are for network backends, which ab does not run; their tokens are secrets.
  const { servers: _unused, ...withoutServers } = scenario;
  const effective: Scenario = {
    ...withBackends(withoutServers, options.backends),
    trials: options.trials,
    // Every trial a process of its own build: that is what makes the two sides two builds.
    fork: 'process',
    order: 'rounds',
  };
  const planned = planCases(effective, findBackend);
  options.events?.planned?.(planned, effective);
  const runnable = planned.map(abSkip);
  // The floors a run records beside rate and durable cases, once, for both files (ab runs no network case).
  const { floors, warnings: floorWarnings } = await machineFloors(
    planned.filter((_, index) => runnable[index] === undefined),
    options.signal,
  );
  const trials: [TrialResult[][], TrialResult[][]] = [planned.map(() => []), planned.map(() => [])];
  let stopped = false;
  for (let round = 0; round < effective.trials && !stopped; round++) {
    options.events?.roundStarted?.(round, effective.trials);
    for (const [index, p] of planned.entries()) {
      if (runnable[index] !== undefined) continue;
      // A B, then B A, alternating by round and by case: with an even count, each side runs
      // first in half of every case's pairs (a machine warmed, or cooled, by the trial before is
      // shared out).
      const sides = (round + index) % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const);
      const pair: TrialResult[] = [];
      for (const side of sides) {
        if (options.signal?.aborted) break;
        const setup = { planned: p, scenario: effective, backend: findBackend(p.backend)!, trial: round, signal: options.signal };
        const result = await runTrial(setup, builds[side].cli);
        if (options.signal?.aborted) break;
        pair.push(result);
      }
      // A pair cut in half is dropped whole: a lone trial of one side would unbalance the two.
      if (pair.length < 2) {
        stopped = true;
        break;
      }
      trials[sides[0]][index].push(pair[0]);
      trials[sides[1]][index].push(pair[1]);
      options.events?.pairFinished?.(p, round, trials[0][index].at(-1)!, trials[1][index].at(-1)!);
    }
  }
  const ran: AbRan = { planned, runnable, trials, effective, file, builds, environment: options.environment, floors, floorWarnings };
  return [sideFile(0, ran), sideFile(1, ran)];
}

/** What both sides of an A/B ran, for their result files. */
interface AbRan {
  planned: PlannedCase[];
  /** Per planned case: why ab left it out, or undefined. */
  runnable: (string | undefined)[];
  /** Per side, per planned case: its trials. */
  trials: [TrialResult[][], TrialResult[][]];
  effective: Scenario;
  file: string;
  builds: readonly [AbBuild, AbBuild];
  environment: AbOptions['environment'];
  floors: Awaited<ReturnType<typeof machineFloors>>['floors'];
  floorWarnings: string[];
}

/** One side's result file: its trials of every case, the shared environment with its own build's commit. */
function sideFile(side: 0 | 1, { planned, runnable, trials, effective, file, builds, environment, floors, floorWarnings }: AbRan): ResultFile {
  const cases: CaseResult[] = planned.map((p, index) => {
    const skip = runnable[index];
    if (skip !== undefined) return skippedCase(p, skip);
    const own = trials[side][index];
    if (own.length < effective.trials) return skippedCase(p, 'interrupted', own);
    return finishedCase(p, effective, own);
  });
  const build = builds[side];
  const other = builds[1 - side];
  return {
    schema: RESULT_SCHEMA,
    scenario: { ...effective, file },
    environment: {
      ...environment,
      gitCommit: gitCommit(build.dir),
      warnings: [...environment.warnings, ...floorWarnings, ...runWarnings(cases, environment.cores)],
      finishedAt: new Date().toISOString(),
      ...floors,
    },
    cases,
    ab: { side: side === 0 ? 'a' : 'b', build: resolve(build.dir), other: resolve(other.dir) },
  };
}

/** The cases an A/B of this scenario would run (for the up-front checks). */
export function abCases(scenario: Scenario, backends: readonly string[] | undefined): PlannedCase[] {
  return planCases(withBackends(scenario, backends), findBackend).filter((p) => abSkip(p) === undefined);
}

/** Why ab leaves a case out (the plan's own skip, or a network backend), or undefined when it runs it. */
function abSkip(p: PlannedCase): string | undefined {
  return p.skip ?? (isNetworkBackend(findBackend(p.backend)!) ? AB_NETWORK_SKIP : undefined);
}
