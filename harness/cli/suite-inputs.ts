/**
 * Every input of a `run` (and `baseline`), checked before any machine time is spent: the
 * scenario files, `--server`, `--backend`, `--trials` and `--confirm-against` with its flags.
 * Bad input throws BadInput, naming the file or the flag; nothing has run by then.
 */
import { backendIds, findBackend } from '../../implementations/registry.js';
import { DEFAULT_THRESHOLD_PCT, settingDifferences } from '../compare/compare.js';
import { FOLLOW_UP_CASES, FOLLOW_UP_TRIALS } from '../compare/follow-up.js';
import { type LoadedScenario, loadScenarioFile, ScenarioError } from '../scenario/load.js';
import { planCases, withBackends } from '../scenario/plan.js';
import { parseBackendFlag, parseServerFlags, parseThreshold, parseTrialsFlag, readResultOrBadInput } from './arguments.js';
import type { ConfirmSettings } from './confirm-run.js';
import { BadInput } from './exit.js';

export interface RunFlags {
  out: string;
  backend?: string;
  trials?: string;
  json?: boolean;
  enforceSlo?: boolean;
  report?: boolean;
  server?: string[];
  dryRun?: boolean;
  wide?: boolean;
  /** With dryRun: check the inputs only, print nothing (`baseline` checks before it creates anything). */
  quiet?: boolean;
  /** The gate: hold the run against this baseline, with follow-up trials for the cases that look worse. */
  confirmAgainst?: string;
  /** Trials added to each case followed up. */
  followUp?: string;
  /** At most this many cases followed up. */
  followUpCases?: string;
  /** Smallest change that counts, in percent (with confirmAgainst). */
  threshold?: string;
}

/** A run's inputs, checked. */
export interface SuiteInputs {
  /** Each scenario as its file says, with the `--server` entries in place of its own for those backends. */
  loaded: LoadedScenario[];
  /** Each scenario as this run will run it: `--backend` and `--trials` applied (the runner applies them again itself; these serve the checks and the dry run). */
  selected: LoadedScenario[];
  backends: string[] | undefined;
  trials: number | undefined;
  confirm: ConfirmSettings | undefined;
}

export function checkSuiteInputs(files: string[], flags: RunFlags): SuiteInputs {
  const backends = parseBackendFlag(flags.backend);
  const trials = parseTrialsFlag(flags.trials);
  const flagServers = parseServerFlags(flags.server);
  const confirm = confirmSettings(files, flags);
  const loaded = loadEvery(files);
  if (flagServers) for (const l of loaded) l.scenario = { ...l.scenario, servers: { ...l.scenario.servers, ...flagServers } };
  if (backends) {
    for (const { file, scenario } of loaded) {
      if (!scenario.matrix.backend.some((b) => backends.includes(b))) {
        throw new BadInput(`--backend ${backends.join(',')}: selects no case of ${file} (its backends: ${scenario.matrix.backend.join(', ')})`);
      }
    }
  }
  const selected = loaded.map(({ file, scenario }) => ({ file, scenario: { ...withBackends(scenario, backends), trials: trials ?? scenario.trials } }));
  for (const s of selected) checkRunnable(s, confirm);
  return { loaded, selected, backends, trials, confirm };
}

/** Every file is loaded and checked before anything runs, and every bad one is named at once. */
function loadEvery(files: string[]): LoadedScenario[] {
  const loaded: LoadedScenario[] = [];
  const problems: string[] = [];
  for (const file of files) {
    try {
      loaded.push(loadScenarioFile(file, backendIds()));
    } catch (error) {
      if (error instanceof ScenarioError) problems.push(error.message);
      else throw error;
    }
  }
  if (problems.length > 0) throw new BadInput(`invalid scenario:\n${problems.join('\n')}`);
  return loaded;
}

/** A scenario as selected has a case to run, and one the baseline can hold it against (with `--confirm-against`). */
function checkRunnable({ file, scenario }: LoadedScenario, confirm: ConfirmSettings | undefined): void {
  const planned = planCases(scenario, findBackend);
  if (planned.length === 0) throw new BadInput(`${file}: no case to run`);
  if (!confirm) return;
  if (!planned.some((p) => confirm.baseline.cases.some((c) => c.id === p.id)))
    throw new BadInput(
      `--confirm-against ${confirm.baselinePath}: a run of scenario ${confirm.baseline.scenario.name}, sharing no case with ${file}: nothing to hold the run against`,
    );
  // Settings that change what is measured must agree, or every case would be "not compared".
  const differences = settingDifferences(confirm.baseline.scenario, scenario);
  if (differences.length > 0)
    throw new BadInput(
      `--confirm-against ${confirm.baselinePath}: made with other settings than ${file} runs with (${differences.join(', ')}): make a new baseline`,
    );
}

/** `--confirm-against` and its flags. */
function confirmSettings(files: string[], flags: RunFlags): ConfirmSettings | undefined {
  if (flags.confirmAgainst === undefined) {
    for (const [flag, value] of [
      ['--follow-up', flags.followUp],
      ['--follow-up-cases', flags.followUpCases],
      ['--threshold', flags.threshold],
    ] as const)
      if (value !== undefined) throw new BadInput(`${flag}: only with --confirm-against BASELINE`);
    return undefined;
  }
  if (files.length !== 1) throw new BadInput(`--confirm-against: one scenario at a time (got ${files.length}), as a baseline holds one`);
  const whole = (flag: string, value: string | undefined, fallback: number, max: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > max)
      throw new BadInput(`${flag}: expected a whole number from 0 to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
  return {
    baseline: readResultOrBadInput(flags.confirmAgainst),
    baselinePath: flags.confirmAgainst,
    thresholdPct: parseThreshold(flags.threshold ?? String(DEFAULT_THRESHOLD_PCT)),
    trials: whole('--follow-up', flags.followUp, FOLLOW_UP_TRIALS, 100),
    maxCases: whole('--follow-up-cases', flags.followUpCases, FOLLOW_UP_CASES, 1000),
  };
}
