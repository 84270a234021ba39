/**
 * `run`'s whole work, shared by `run` and `baseline`: check every input before any machine time
 * is spent, run the scenarios, write one result file each (and reports), stop cleanly on a
 * signal with what ran written.
 */
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { backendIds, findBackend } from '../../implementations/registry.js';
import { captureEnvironment } from '../calibration/environment.js';
import { busyWarning, measureMachineLoad } from '../calibration/machine-load.js';
import { type Comparison, DEFAULT_THRESHOLD_PCT, settingDifferences } from '../compare/compare.js';
import { FOLLOW_UP_CASES, FOLLOW_UP_TRIALS } from '../compare/follow-up.js';
import { caseFlags, deliveryVerdict } from '../results/case-verdicts.js';
import { scenarioHeadline } from '../results/headline.js';
import { freeResultPath, replaceOwnResultFile, writeNewResultFile } from '../results/result-file-name.js';
import type { ResultFile } from '../results/types.js';
import { runScenario } from '../run/runner.js';
import { type LoadedScenario, loadScenarioFile, ScenarioError } from '../scenario/load.js';
import { planCases } from '../scenario/plan.js';
import { parseBackendFlag, parseServerFlags, parseThreshold, parseTrialsFlag, readResultOrBadInput } from './arguments.js';
import { comparisonTable } from './comparison-table.js';
import { type ConfirmSettings, confirmAgainst } from './confirm-run.js';
import { dryRun } from './dry-run.js';
import { BadInput, ExitCode } from './exit.js';
import { prepareOutputFolder } from './output-folder.js';
import { progressReporter } from './progress.js';
import { stopOnSignals } from './stop-on-signals.js';
import { summaryTable } from './summary-table.js';

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

/**
 * Writes a finished result; if its folder failed after the up-front check (disk full, removed,
 * made read-only meanwhile), the run is not thrown away: it goes to the temporary folder, and
 * stderr says where.
 */
export function writeResultSomewhere(path: string, contents: string): string {
  try {
    return writeNewResultFile(path, contents);
  } catch (error) {
    const rescue = join(tmpdir(), basename(path));
    const written = writeNewResultFile(rescue, contents);
    process.stderr.write(
      `nanomq: could not write ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the result is in ${written}\n`,
    );
    return written;
  }
}

function exitCodeFor(results: ResultFile[], enforceSlo: boolean): number {
  const cases = results.flatMap((r) => r.cases);
  if (cases.some((c) => c.status === 'failed')) return ExitCode.Failed;
  if (enforceSlo && cases.some((c) => Object.values(c.summary?.slo ?? {}).includes('fail'))) return ExitCode.SloMissed;
  return ExitCode.Ok;
}

/** What `run` did: the results, where they were written, and the exit code it ends with. */
export interface SuiteRun {
  results: ResultFile[];
  written: string[];
  exitCode: number;
}

/** `run`'s whole work, for `run` itself and for `baseline`; bad input throws BadInput. */
export async function runSuite(files: string[], flags: RunFlags): Promise<SuiteRun> {
  const backends = parseBackendFlag(flags.backend);
  const trials = parseTrialsFlag(flags.trials);
  const flagServers = parseServerFlags(flags.server);
  const confirm = confirmSettings(files, flags);
  // Every file is checked before anything runs: bad input costs no measuring time.
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
  // --server entries replace the scenarios' own for those backends.
  if (flagServers) for (const l of loaded) l.scenario = { ...l.scenario, servers: { ...l.scenario.servers, ...flagServers } };
  if (backends) {
    for (const { file, scenario } of loaded) {
      if (!scenario.matrix.backend.some((b) => backends.includes(b))) {
        throw new BadInput(`--backend ${backends.join(',')}: selects no case of ${file} (its backends: ${scenario.matrix.backend.join(', ')})`);
      }
    }
  }

  // Each scenario as this run will run it: --backend and --trials applied (the runner applies
  // them again itself; here they serve the checks and the dry run).
  const selected = loaded.map(({ file, scenario }) => ({
    file,
    scenario: {
      ...scenario,
      trials: trials ?? scenario.trials,
      matrix: { ...scenario.matrix, backend: scenario.matrix.backend.filter((b) => !backends || backends.includes(b)) },
    },
  }));
  for (const { file, scenario } of selected) {
    if (planCases(scenario, findBackend).length === 0) throw new BadInput(`${file}: no case to run`);
    if (confirm && !planCases(scenario, findBackend).some((p) => confirm.baseline.cases.some((c) => c.id === p.id)))
      throw new BadInput(
        `--confirm-against ${confirm.baselinePath}: a run of scenario ${confirm.baseline.scenario.name}, sharing no case with ${file}: nothing to hold the run against`,
      );
    // Settings that change what is measured must agree, or every case would be "not compared".
    const differences = confirm ? settingDifferences(confirm.baseline.scenario, scenario) : [];
    if (differences.length > 0)
      throw new BadInput(
        `--confirm-against ${confirm!.baselinePath}: made with other settings than ${file} runs with (${differences.join(', ')}): make a new baseline`,
      );
  }

  if (flags.dryRun) {
    if (flags.quiet) return { results: [], written: [], exitCode: ExitCode.Ok };
    process.stdout.write(dryRun(selected, flags.json === true));
    return { results: [], written: [], exitCode: ExitCode.Ok };
  }

  // Where the results (and reports) will go is checked before any case runs: a run that
  // finds out at the end that it cannot write has thrown its machine time away.
  prepareOutputFolder(flags.out, '--out');
  const taken = new Set<string>();
  const paths = loaded.map(({ scenario }) => freeResultPath(flags.out, scenario.name, taken));
  for (const path of paths) prepareOutputFolder(flags.out, '--out', basename(path));
  if (flags.report) {
    const { checkReportFolder, defaultReportDir, ReportFolderError } = await import('../report/write-report.js');
    try {
      for (const { scenario } of loaded) checkReportFolder(defaultReportDir([{ scenario } as ResultFile]));
    } catch (error) {
      if (error instanceof ReportFolderError) throw new BadInput(`--report: ${error.message}`);
      throw error;
    }
  }

  // A signal stops the running case; every result is written with what ran (stop-on-signals.ts).
  const written: string[] = [];
  const stop = stopOnSignals({
    first: (signal) => `${signal}: stopping the running case, then writing what ran`,
    second: (signal) =>
      `second signal (${signal}): exiting now, without the results of a scenario still running; result files written: ${written.length === 0 ? 'none' : written.join(', ')}`,
  });
  const results: ResultFile[] = [];
  let comparison: Comparison | undefined;
  let unjudged: string[] = [];
  try {
    // The second before the suite: is anything else using the machine?
    const machineBefore = await measureMachineLoad();
    const captured = captureEnvironment();
    const busy = busyWarning(machineBefore, captured.cores);
    const environment = { ...captured, machineBefore, warnings: busy ? [...captured.warnings, busy] : captured.warnings };
    for (const [k, { file, scenario }] of loaded.entries()) {
      const progress = progressReporter(scenario.name);
      let result: ResultFile;
      try {
        result = await runScenario(scenario, file, { backends, trials, events: progress, signal: stop.signal, environment });
      } finally {
        progress.stop();
      }
      // Written before any follow-up: an interrupt or a failure during them keeps the suite.
      const path = writeResultSomewhere(paths[k], `${JSON.stringify(result, null, 2)}\n`);
      written.push(path);
      if (confirm) {
        const say = (line: string) => process.stderr.write(`${line}\n`);
        const confirmed = await confirmAgainst(result, scenario, file, confirm, { signal: stop.signal, environment }, say);
        ({ result, comparison } = confirmed);
        unjudged = confirmed.unjudged;
        if (confirmed.notFollowedUp.length > 0)
          say(
            `follow-up: ${confirmed.notFollowedUp.length} case(s) still look worse but were not followed up (--follow-up-cases ${confirm.maxCases}, --follow-up ${confirm.trials}): judged on their first trials (first: ${confirmed.notFollowedUp[0]})`,
          );
        try {
          replaceOwnResultFile(path, `${JSON.stringify(result, null, 2)}\n`);
        } catch (error) {
          // The suite is in `path` already; the follow-ups go where they can, and stderr says where.
          written[written.length - 1] = writeResultSomewhere(paths[k].replace(/\.json$/, '-followed-up.json'), `${JSON.stringify(result, null, 2)}\n`);
          process.stderr.write(
            `nanomq: could not rewrite ${path} with the follow-up trials (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); they are in ${written.at(-1)}\n`,
          );
        }
      }
      results.push(result);
      if (!flags.json) {
        const headline = scenarioHeadline(result);
        process.stdout.write(
          `\n${scenario.name}: ${scenario.description ?? ''}\n${summaryTable(result, flags.wide === true)}\n${headline ? `headline: ${headline}\n` : ''}result: ${path}\n`,
        );
      }
      if (flags.report) {
        const { writeReport } = await import('../report/write-report.js');
        const report = await writeReport([result], {});
        if (!flags.json) process.stdout.write(`report: ${report.htmlPath}\n`);
      }
    }
  } finally {
    stop.release();
  }
  if (comparison && !flags.json) process.stdout.write(`\nagainst ${confirm!.baselinePath}:\n${comparisonTable(comparison, flags.wide === true)}\n`);
  if (flags.json) {
    const out = results.map((r, i) => ({
      file: written[i],
      scenario: r.scenario.name,
      cases: r.cases.map((c) => ({
        id: c.id,
        status: c.status,
        reason: c.reason,
        oversubscribed: c.oversubscribed,
        msgsPerSec: c.summary?.msgsPerSec,
        msgsPerSecCi95: c.summary?.msgsPerSecCi95,
        latencyNs: c.summary?.latencyNs ? { ...c.summary.latencyNs, histogram: undefined } : undefined,
        delivery: deliveryVerdict(c),
        flags: caseFlags(c),
        slo: c.summary?.slo,
      })),
    }));
    process.stdout.write(`${JSON.stringify({ results: out, ...(comparison ? { comparison } : {}) }, null, 2)}\n`);
  }
  const stoppedCode = stop.exitCode();
  if (stoppedCode !== undefined) return { results, written, exitCode: stoppedCode };
  // The gate's answer first: a case ok in the baseline that failed now is a regression too.
  if (comparison && comparison.regressions > 0) return { results, written, exitCode: ExitCode.Regression };
  // A case that failed (delivery, timeout) is said by its own code first, whatever was judged.
  if (results.flatMap((r) => r.cases).some((c) => c.status === 'failed')) return { results, written, exitCode: ExitCode.Failed };
  // Never a quiet pass: a gate that judged nothing, or could not judge a case that looked worse
  // (its placements never matched the baseline's), or met cases configured unlike their
  // baseline's (another server version), says so and exits 5.
  if (comparison && (comparison.tested === 0 || unjudged.length > 0 || comparison.mismatched.length > 0)) {
    const why = [
      comparison.tested === 0 ? 'no figure could be judged' : '',
      unjudged.length > 0 ? `${unjudged.length} case(s) that look worse could not be judged even after follow-up (first: ${unjudged[0]})` : '',
      comparison.mismatched.length > 0
        ? `${comparison.mismatched.length} case(s) configured unlike the baseline (first: ${comparison.mismatched[0].id}: ${comparison.mismatched[0].differences.join(', ')})`
        : '',
    ].filter(Boolean);
    const line = `gate: COULD NOT ANSWER: ${why.join('; ')} (exit ${ExitCode.NotJudged}; docs/method.md)`;
    process.stderr.write(`nanomq run: ${line}\n`);
    if (!flags.json) process.stdout.write(`${line}\n`);
    return { results, written, exitCode: ExitCode.NotJudged };
  }
  return { results, written, exitCode: exitCodeFor(results, flags.enforceSlo === true) };
}

/** `--confirm-against` and its flags, checked before anything runs. */
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
