/**
 * `nanomq ab A B scenario.yaml`: two builds, one run, trials alternating case by case
 * (compare/ab-run.ts), then the comparison of B against A with compare's test and verdict.
 * Writes both sides' result files (`<scenario>-a-…json`, `<scenario>-b-…json`), so the verdict
 * can be read again with `compare`, and a stopped run keeps the pairs that ran.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { backendIds } from '../../implementations/registry.js';
import { formatCount } from '../../wire/units.js';
import { captureEnvironment, gitCommit } from '../calibration/environment.js';
import { busyWarning, measureMachineLoad } from '../calibration/machine-load.js';
import { AB_TRIALS, type AbBuild, abCases, runAb } from '../compare/ab-run.js';
import { compareResults, DEFAULT_THRESHOLD_PCT, MIN_TRIALS } from '../compare/compare.js';
import { unansweredCases } from '../compare/follow-up.js';
import { freeResultPath } from '../results/result-file-name.js';
import type { TrialResult } from '../results/types.js';
import { formatEta, trialSeconds } from '../run/estimate.js';
import { loadScenarioFile, ScenarioError } from '../scenario/load.js';
import { parseBackendFlag, parseThreshold, parseTrialsFlag } from './arguments.js';
import { comparisonTable } from './comparison-table.js';
import { BadInput, ExitCode } from './exit.js';
import { prepareOutputFolder } from './output-folder.js';
import { writeResultSomewhere } from './run-suite.js';
import { stopOnSignals } from './stop-on-signals.js';
import { TABLE_WIDTH } from './table.js';

interface AbFlags {
  out: string;
  trials?: string;
  backend?: string;
  threshold: string;
  wide?: boolean;
}

/**
 * A side named on the command line: a checkout of this project whose build answers
 * `--version`, or bad input naming it. Returns the build and what it says it is.
 */
function buildAt(dir: string, which: 'A' | 'B'): AbBuild & { version: string } {
  const absolute = resolve(dir);
  const cli = join(absolute, 'dist', 'harness', 'cli', 'main.js');
  if (!existsSync(absolute)) throw new BadInput(`${which} ${dir}: no such folder (name a checkout of nanomq, built)`);
  if (!existsSync(cli)) throw new BadInput(`${which} ${dir}: not a built checkout of nanomq (no dist/harness/cli/main.js; in it, run npm ci && npm run build)`);
  const asked = spawnSync(process.execPath, [cli, '--version'], { encoding: 'utf8', timeout: 30_000 });
  const version = asked.stdout?.trim() ?? '';
  if (asked.status !== 0 || !/^\d+\.\d+\.\d+/.test(version))
    throw new BadInput(
      `${which} ${dir}: its dist/harness/cli/main.js does not answer --version as nanomq does (exit ${asked.status}): rebuild it (npm run build)`,
    );
  return { dir, cli, version };
}

/** `--trials` for ab: even (each side first in half the pairs) and at least compare's minimum. */
function abTrials(value: string | undefined): number {
  const n = parseTrialsFlag(value) ?? AB_TRIALS;
  if (n % 2 !== 0 || n < MIN_TRIALS)
    throw new BadInput(
      `--trials ${value}: ab needs an even number of trials, at least ${MIN_TRIALS + (MIN_TRIALS % 2)} (each build runs first in half of a case's pairs, and compare judges from ${MIN_TRIALS} a side)`,
    );
  return n;
}

export function registerAb(program: Command): void {
  program
    .command('ab')
    .description('measure two builds in one run, their trials alternating case by case; exit 4 if B is slower than A')
    .argument('<a>', 'the reference build: a checkout of nanomq with dist/ built (e.g. a git worktree of main)')
    .argument('<b>', 'the build under test (e.g. .)')
    .argument('<scenario>', 'scenario file (YAML); network backends are skipped')
    .option('--trials <n>', `trials of each case on each side, even, at least 6 (default ${AB_TRIALS})`)
    .option('--backend <ids>', 'only these backends, comma-separated')
    .option('--threshold <pct>', 'smallest change that counts, in percent', String(DEFAULT_THRESHOLD_PCT))
    .option('--out <dir>', 'folder for the two result files', 'results')
    .option('--wide', `full case ids and verdicts, however wide (default: fit ${TABLE_WIDTH} columns)`)
    .action(async (a: string, b: string, file: string, flags: AbFlags) => {
      process.exitCode = await abCommand(a, b, file, flags);
    });
}

async function abCommand(a: string, b: string, file: string, flags: AbFlags): Promise<number> {
  // Every input is checked before any machine time is spent or any file made.
  const trials = abTrials(flags.trials);
  const backends = parseBackendFlag(flags.backend);
  const threshold = parseThreshold(flags.threshold);
  let scenario: ReturnType<typeof loadScenarioFile>['scenario'];
  try {
    scenario = loadScenarioFile(file, backendIds()).scenario;
  } catch (error) {
    if (error instanceof ScenarioError) throw new BadInput(`invalid scenario:\n${error.message}`);
    throw error;
  }
  const cases = abCases(scenario, backends);
  if (cases.length === 0)
    throw new BadInput(
      `${file}: no case ab can run${backends ? ` with --backend ${backends.join(',')}` : ''} (network backends are not run by ab: see docs/cli.md)`,
    );
  const builds = [buildAt(a, 'A'), buildAt(b, 'B')] as const;
  prepareOutputFolder(flags.out, '--out');
  const taken = new Set<string>();
  const paths = [freeResultPath(flags.out, `${scenario.name}-a`, taken), freeResultPath(flags.out, `${scenario.name}-b`, taken)];
  for (const path of paths) prepareOutputFolder(flags.out, '--out', basename(path));

  // A signal stops the running trial; the pairs that ran are written, each side's file whole
  // (stop-on-signals.ts).
  let written: string[] = [];
  const stop = stopOnSignals({
    first: (signal) => `${signal}: stopping the running trial, then writing the pairs that ran`,
    second: (signal) =>
      `second signal (${signal}): exiting now${written.length < 2 ? ', without both result files' : ''}; written: ${written.length === 0 ? 'none' : written.join(', ')}`,
  });
  const say = (line: string) => process.stderr.write(`${line}\n`);
  let results: Awaited<ReturnType<typeof runAb>>;
  try {
    const machineBefore = await measureMachineLoad();
    const captured = captureEnvironment();
    const busy = busyWarning(machineBefore, captured.cores);
    const environment = { ...captured, machineBefore, warnings: busy ? [...captured.warnings, busy] : captured.warnings };
    if (busy) say(`nanomq ab: WARNING: ${busy}`);
    const forked = { ...scenario, fork: 'process' as const };
    const seconds = 2 * trials * cases.reduce((sum, p) => sum + trialSeconds(p, forked), 0);
    const named = (k: 0 | 1) => `${[a, b][k]}: nanomq ${builds[k].version}, ${gitCommit(builds[k].dir) ?? 'not a git checkout'}`;
    say(`ab: ${cases.length} case(s) × ${trials} trials on each of A (${named(0)}) and B (${named(1)}), alternating; about ${formatEta(seconds)}`);
    results = await runAb(scenario, file, builds, {
      trials,
      signal: stop.signal,
      environment,
      ...(backends ? { backends } : {}),
      events: {
        roundStarted: (round, rounds) => say(`round ${round + 1} of ${rounds}`),
        pairFinished: (p, _round, ta, tb) => say(`  ${p.id}: A ${figure(ta)}, B ${figure(tb)}`),
      },
    });
    written = results.map((r, i) => writeResultSomewhere(paths[i], `${JSON.stringify(r, null, 2)}\n`));
  } finally {
    stop.release();
  }
  const comparison = compareResults(results[0], results[1], threshold);
  for (const warning of comparison.warnings) say(`nanomq ab: WARNING: ${warning}`);
  process.stdout.write(`A: ${written[0]}\nB: ${written[1]}\nB against A, trials alternating:\n${comparisonTable(comparison, flags.wide === true)}\n`);
  const stoppedCode = stop.exitCode();
  if (stoppedCode !== undefined) return stoppedCode;
  if (comparison.regressions > 0) return ExitCode.Regression;
  if (results.flatMap((r) => r.cases).some((c) => c.status === 'failed')) return ExitCode.Failed;
  // Never a quiet pass: nothing judged, or a figure that looks worse and could not be judged.
  const open = unansweredCases(comparison, threshold);
  if (comparison.tested === 0 || open.length > 0) {
    const why = comparison.tested === 0 ? 'no figure could be judged' : `${open.length} case(s) look worse and could not be judged (first: ${open[0]})`;
    const line = `ab: COULD NOT ANSWER: ${why} (exit ${ExitCode.NotJudged}; docs/method.md)`;
    say(`nanomq ${line}`);
    process.stdout.write(`${line}\n`);
    return ExitCode.NotJudged;
  }
  return ExitCode.Ok;
}

function figure(t: TrialResult): string {
  return t.status === 'ok' && t.msgsPerSec !== undefined ? `${formatCount(t.msgsPerSec)} msg/s` : `${t.status}${t.reason ? ` (${t.reason})` : ''}`;
}
