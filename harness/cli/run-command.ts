import type { Command } from 'commander';
import { type RunFlags, runSuite } from './run-suite.js';
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
    .action(async (files: string[], flags: RunFlags) => {
      process.exitCode = (await runSuite(files, flags)).exitCode;
    });
}
