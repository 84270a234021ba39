import type { Command } from 'commander';
import { DEFAULT_THRESHOLD_PCT } from '../compare/compare.js';
import { FOLLOW_UP_CASES, FOLLOW_UP_TRIALS } from '../compare/follow-up.js';
import { runSuite } from './run-suite.js';
import type { RunFlags } from './suite-inputs.js';
import { TABLE_WIDTH } from './table.js';

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
    .option('--wide', `tables with every column, however wide (default: fit ${TABLE_WIDTH} columns)`)
    .option('--dry-run', 'list the cases and how long they should take; run and write nothing')
    .option(
      '--server <id=url>',
      'measure a server someone else runs, as a servers: entry would (repeatable; presents NANOMQ_TOKEN)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--confirm-against <baseline>',
      'the gate: hold the run against this baseline result, re-run the cases that look worse with more trials, exit 4 on a regression',
    )
    .option('--follow-up <n>', `with --confirm-against: trials added to each case that looks worse (default ${FOLLOW_UP_TRIALS})`)
    .option('--follow-up-cases <n>', `with --confirm-against: at most this many cases followed up, most suspect first (default ${FOLLOW_UP_CASES})`)
    .option('--threshold <pct>', `with --confirm-against: smallest change that counts, in percent (default ${DEFAULT_THRESHOLD_PCT})`)
    .action(async (files: string[], flags: RunFlags) => {
      process.exitCode = (await runSuite(files, flags)).exitCode;
    });
}
