import { join } from 'node:path';
import type { Command } from 'commander';
import { backendIds } from '../../implementations/registry.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import { captureEnvironment } from '../results/environment.js';
import type { ResultFile } from '../results/types.js';
import { runScenario } from '../run/runner.js';
import { loadScenarioFile, ScenarioError, type LoadedScenario } from '../scenario/load.js';
import { BadInput, ExitCode } from './exit.js';
import { progressReporter } from './progress.js';
import { caseFlags, deliveryVerdict } from '../results/case-verdicts.js';
import { summaryTable } from './summary-table.js';

interface RunFlags {
  out: string;
  backend?: string;
  trials?: string;
  json?: boolean;
  enforceSlo?: boolean;
  report?: boolean;
}

export function resultFileName(name: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${name}-${stamp}.json`;
}

export function parseBackendFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const ids = value.split(',').map((s) => s.trim()).filter(Boolean);
  const known = backendIds();
  const unknown = ids.filter((id) => !known.includes(id));
  if (ids.length === 0 || unknown.length > 0) {
    throw new BadInput(`--backend: unknown backend ${unknown.map((u) => JSON.stringify(u)).join(', ') || '(none given)'} (known: ${known.join(', ')})`);
  }
  return ids;
}

export function parseTrialsFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new BadInput(`--trials: expected a whole number of at least 1, got ${JSON.stringify(value)}`);
  return n;
}

function exitCodeFor(results: ResultFile[], enforceSlo: boolean): number {
  const cases = results.flatMap((r) => r.cases);
  if (cases.some((c) => c.status === 'failed')) return ExitCode.Failed;
  if (enforceSlo && cases.some((c) => Object.values(c.summary?.slo ?? {}).includes('fail'))) return ExitCode.SloMissed;
  return ExitCode.Ok;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run every case of the scenarios and write one result file per scenario')
    .argument('<scenario...>', 'scenario files (YAML)')
    .option('--out <dir>', 'folder for result files', 'results')
    .option('--backend <ids>', 'only these backends, comma-separated')
    .option('--trials <n>', "override the scenarios' trial count")
    .option('--json', 'print machine-readable results instead of tables')
    .option('--enforce-slo', 'exit 3 when any case misses its SLO')
    .option('--report', 'also write an HTML and Markdown report of each result')
    .action(async (files: string[], flags: RunFlags) => {
      const backends = parseBackendFlag(flags.backend);
      const trials = parseTrialsFlag(flags.trials);
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

      const abort = new AbortController();
      const onInterrupt = () => {
        process.stderr.write('\ninterrupted: finishing the current case, then writing what ran\n');
        abort.abort();
      };
      process.once('SIGINT', onInterrupt);
      const environment = captureEnvironment();
      const results: ResultFile[] = [];
      const written: string[] = [];
      for (const { file, scenario } of loaded) {
        const progress = progressReporter(scenario.name);
        let result: ResultFile;
        try {
          result = await runScenario(scenario, file, { backends, trials, events: progress, signal: abort.signal, environment });
        } finally {
          progress.stop();
        }
        const path = join(flags.out, resultFileName(scenario.name));
        writeFileAtomic(path, JSON.stringify(result, null, 2) + '\n');
        results.push(result);
        written.push(path);
        if (!flags.json) {
          process.stdout.write(`\n${scenario.name}: ${scenario.description ?? ''}\n${summaryTable(result)}\nresult: ${path}\n`);
        }
        if (flags.report) {
          const { writeReport } = await import('../report/write-report.js');
          const report = await writeReport([result], { sourcePaths: [path] });
          if (!flags.json) process.stdout.write(`report: ${report.htmlPath}\n`);
        }
      }
      process.off('SIGINT', onInterrupt);
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
        process.stdout.write(JSON.stringify({ results: out }, null, 2) + '\n');
      }
      process.exitCode = abort.signal.aborted ? 130 : exitCodeFor(results, flags.enforceSlo === true);
    });
}
