/**
 * `run`'s whole work, shared by `run` and `baseline`: check every input before any machine time
 * is spent, run the scenarios, write one result file each (and reports), stop cleanly on a
 * signal with what ran written.
 */
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { captureEnvironment } from '../calibration/environment.js';
import { busyWarning, measureMachineLoad } from '../calibration/machine-load.js';
import type { Comparison } from '../compare/compare.js';
import { caseFlags, deliveryVerdict } from '../results/case-verdicts.js';
import { scenarioHeadline } from '../results/headline.js';
import { freeResultPath, replaceOwnResultFile, writeNewResultFile } from '../results/result-file-name.js';
import type { Environment, ResultFile } from '../results/types.js';
import { runScenario } from '../run/runner.js';
import type { LoadedScenario } from '../scenario/load.js';
import { comparisonTable } from './comparison-table.js';
import { type ConfirmedRun, confirmAgainst } from './confirm-run.js';
import { dryRun } from './dry-run.js';
import { BadInput, ExitCode } from './exit.js';
import { prepareOutputFolder } from './output-folder.js';
import { progressReporter } from './progress.js';
import { stopOnSignals } from './stop-on-signals.js';
import { checkSuiteInputs, type RunFlags, type SuiteInputs } from './suite-inputs.js';
import { summaryTable } from './summary-table.js';

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
  // Every input is checked before anything runs: bad input costs no measuring time.
  const inputs = checkSuiteInputs(files, flags);
  if (flags.dryRun) {
    if (!flags.quiet) process.stdout.write(dryRun(inputs.selected, flags.json === true));
    return { results: [], written: [], exitCode: ExitCode.Ok };
  }
  const paths = await prepareOutputs(inputs.loaded, flags);
  // A signal stops the running case; every result is written with what ran (stop-on-signals.ts).
  const written: string[] = [];
  const stop = stopOnSignals({
    first: (signal) => `${signal}: stopping the running case, then writing what ran`,
    second: (signal) =>
      `second signal (${signal}): exiting now, without the results of a scenario still running; result files written: ${written.length === 0 ? 'none' : written.join(', ')}`,
  });
  const results: ResultFile[] = [];
  let gate: ConfirmedRun | undefined;
  try {
    const suite: Suite = { inputs, flags, signal: stop.signal, environment: await environmentBeforeSuite(), written };
    for (const [k, loaded] of inputs.loaded.entries()) {
      const ran = await runAndWrite(loaded, paths[k], suite);
      results.push(ran.result);
      gate = ran.gate ?? gate;
    }
  } finally {
    stop.release();
  }
  const comparison = gate?.comparison;
  if (comparison && !flags.json) process.stdout.write(`\nagainst ${inputs.confirm!.baselinePath}:\n${comparisonTable(comparison, flags.wide === true)}\n`);
  if (flags.json) process.stdout.write(jsonOutput(results, written, comparison));
  const stoppedCode = stop.exitCode();
  if (stoppedCode !== undefined) return { results, written, exitCode: stoppedCode };
  return { results, written, exitCode: suiteExitCode(results, gate, flags) };
}

/** What every scenario of one run shares. */
interface Suite {
  inputs: SuiteInputs;
  flags: RunFlags;
  signal: AbortSignal;
  environment: Environment;
  /** Result files written so far (a second signal names them). */
  written: string[];
}

/**
 * Where the results (and reports) will go, checked before any case runs: a run that finds out
 * at the end that it cannot write has thrown its machine time away. Returns each scenario's
 * result path (a free name, never an existing file).
 */
async function prepareOutputs(loaded: LoadedScenario[], flags: RunFlags): Promise<string[]> {
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
  return paths;
}

/** The second before the suite (is anything else using the machine?), and the machine's description, shared by its scenarios. */
async function environmentBeforeSuite(): Promise<Environment> {
  const machineBefore = await measureMachineLoad();
  const captured = captureEnvironment();
  const busy = busyWarning(machineBefore, captured.cores);
  return { ...captured, machineBefore, warnings: busy ? [...captured.warnings, busy] : captured.warnings };
}

/** One scenario: run, written at once, held against the baseline (with `--confirm-against`), printed, reported. */
async function runAndWrite({ file, scenario }: LoadedScenario, plannedPath: string, suite: Suite): Promise<{ result: ResultFile; gate?: ConfirmedRun }> {
  const { inputs, flags, signal, environment } = suite;
  const progress = progressReporter(scenario.name);
  let result: ResultFile;
  try {
    result = await runScenario(scenario, file, { backends: inputs.backends, trials: inputs.trials, events: progress, signal, environment });
  } finally {
    progress.stop();
  }
  // Written before any follow-up: an interrupt or a failure during them keeps the suite.
  const path = writeResultSomewhere(plannedPath, `${JSON.stringify(result, null, 2)}\n`);
  suite.written.push(path);
  let gate: ConfirmedRun | undefined;
  if (inputs.confirm) {
    gate = await confirmAgainst(result, scenario, file, inputs.confirm, { signal, environment }, (line) => process.stderr.write(`${line}\n`));
    result = gate.result;
    if (gate.notFollowedUp.length > 0)
      process.stderr.write(
        `follow-up: ${gate.notFollowedUp.length} case(s) still look worse but were not followed up (--follow-up-cases ${inputs.confirm.maxCases}, --follow-up ${inputs.confirm.trials}): judged on their first trials (first: ${gate.notFollowedUp[0]})\n`,
      );
    suite.written[suite.written.length - 1] = rewriteWithFollowUps(path, plannedPath, result);
  }
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
  return gate ? { result, gate } : { result };
}

/**
 * The result file this run wrote, rewritten with its follow-up trials. If that fails, the suite
 * is in `path` already: the follow-ups go where they can, and stderr says where. Returns where
 * the result with its follow-ups is.
 */
function rewriteWithFollowUps(path: string, plannedPath: string, result: ResultFile): string {
  try {
    replaceOwnResultFile(path, `${JSON.stringify(result, null, 2)}\n`);
    return path;
  } catch (error) {
    const elsewhere = writeResultSomewhere(plannedPath.replace(/\.json$/, '-followed-up.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(
      `nanomq: could not rewrite ${path} with the follow-up trials (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); they are in ${elsewhere}\n`,
    );
    return elsewhere;
  }
}

/** `--json`: each result's cases in brief, and the gate's comparison. */
function jsonOutput(results: ResultFile[], written: string[], comparison: Comparison | undefined): string {
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
  return `${JSON.stringify({ results: out, ...(comparison ? { comparison } : {}) }, null, 2)}\n`;
}

/** The code a run that was not stopped ends with. */
function suiteExitCode(results: ResultFile[], gate: ConfirmedRun | undefined, flags: RunFlags): number {
  const comparison = gate?.comparison;
  // The gate's answer first: a case ok in the baseline that failed now is a regression too.
  if (comparison && comparison.regressions > 0) return ExitCode.Regression;
  // A case that failed (delivery, timeout) is said by its own code first, whatever was judged.
  if (results.flatMap((r) => r.cases).some((c) => c.status === 'failed')) return ExitCode.Failed;
  // Never a quiet pass: a gate that judged nothing, or could not judge a case that looked worse
  // (its placements never matched the baseline's), or met cases configured unlike their
  // baseline's (another server version), says so and exits 5.
  const unjudged = gate?.unjudged ?? [];
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
    return ExitCode.NotJudged;
  }
  return exitCodeFor(results, flags.enforceSlo === true);
}
