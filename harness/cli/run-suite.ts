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
import { caseFlags, deliveryVerdict } from '../results/case-verdicts.js';
import { scenarioHeadline } from '../results/headline.js';
import { freeResultPath, writeNewResultFile } from '../results/result-file-name.js';
import type { ResultFile } from '../results/types.js';
import { runScenario } from '../run/runner.js';
import { type LoadedScenario, loadScenarioFile, ScenarioError } from '../scenario/load.js';
import { planCases } from '../scenario/plan.js';
import { parseBackendFlag, parseServerFlags, parseTrialsFlag } from './arguments.js';
import { dryRun } from './dry-run.js';
import { BadInput, ExitCode } from './exit.js';
import { prepareOutputFolder } from './output-folder.js';
import { progressReporter } from './progress.js';
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
}

/** The signals that end a run early; each writes what ran and exits 128 + its number. */
const STOP_SIGNALS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof STOP_SIGNALS;

/**
 * Writes a finished result; if its folder failed after the up-front check (disk full, removed,
 * made read-only meanwhile), the run is not thrown away: it goes to the temporary folder, and
 * stderr says where.
 */
function writeResultSomewhere(path: string, contents: string): string {
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

  // SIGINT (Ctrl-C), SIGTERM (timeout, docker stop, a cancelled CI job) and SIGHUP alike:
  // stop the case that is running, write every result with what ran, exit 128 + signal.
  // A second signal is the user insisting (a stop that hangs): exit at once. The exit hooks
  // still kill the servers and trial processes the run started.
  const abort = new AbortController();
  const written: string[] = [];
  let stoppedBy: StopSignal | undefined;
  const onSignal = (signal: StopSignal) => {
    if (stoppedBy) {
      process.stderr.write(
        `\nsecond signal (${signal}): exiting now, without the results of a scenario still running; result files written: ${written.length === 0 ? 'none' : written.join(', ')}\n`,
      );
      process.exit(STOP_SIGNALS[signal]);
    }
    stoppedBy = signal;
    process.stderr.write(`\n${signal}: stopping the running case, then writing what ran\n`);
    abort.abort();
  };
  const handlers = (Object.keys(STOP_SIGNALS) as StopSignal[]).map((signal) => {
    const handler = () => onSignal(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  // The second before the suite: is anything else using the machine?
  const machineBefore = await measureMachineLoad();
  const captured = captureEnvironment();
  const busy = busyWarning(machineBefore, captured.cores);
  const environment = { ...captured, machineBefore, warnings: busy ? [...captured.warnings, busy] : captured.warnings };
  const results: ResultFile[] = [];
  try {
    for (const [k, { file, scenario }] of loaded.entries()) {
      const progress = progressReporter(scenario.name);
      let result: ResultFile;
      try {
        result = await runScenario(scenario, file, { backends, trials, events: progress, signal: abort.signal, environment });
      } finally {
        progress.stop();
      }
      const path = writeResultSomewhere(paths[k], `${JSON.stringify(result, null, 2)}\n`);
      results.push(result);
      written.push(path);
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
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
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
    process.stdout.write(`${JSON.stringify({ results: out }, null, 2)}\n`);
  }
  return { results, written, exitCode: stoppedBy ? STOP_SIGNALS[stoppedBy] : exitCodeFor(results, flags.enforceSlo === true) };
}
