/**
 * The `nanomq` commands other than `broker` (which main.ts hands to broker/main.ts first): run
 * scenarios, list backends, report and compare results.
 * Exit codes (docs/cli.md): 0 ok; 1 a case failed; 2 bad input; 3 an SLO missed
 * with --enforce-slo; 4 a significant regression (compare).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../../implementations/package-root.js';
import { registerAb } from './ab-command.js';
import { registerBaseline } from './baseline-command.js';
import { registerCompare } from './compare-command.js';
import { registerCompletion } from './completion-command.js';
import { registerCsv } from './csv-command.js';
import { BadInput, ExitCode } from './exit.js';
import { registerList } from './list-command.js';
import { registerMicro } from './micro-command.js';
import { registerReport } from './report-command.js';
import { registerRun } from './run-command.js';
import { registerTrial } from './trial-command.js';

const program = new Command();
const { version } = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
program
  .name('nanomq')
  .description('Measure and compare message queues on Node.js, from inter-thread rings to brokers')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride();
registerRun(program);
registerList(program);
registerMicro(program);
registerCompare(program);
registerAb(program);
registerBaseline(program);
registerCsv(program);
registerReport(program);
registerTrial(program);
// Listed for --help; main.ts runs it before this file is loaded (docs/broker.md).
program.command('broker').description('run the NanoMQ TCP broker until SIGINT/SIGTERM (nanomq broker --help)');
registerCompletion(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end here with code 0; usage errors are bad input.
    process.exit(error.exitCode === 0 ? 0 : ExitCode.BadInput);
  }
  if (error instanceof BadInput) {
    process.stderr.write(`nanomq: ${error.message}\n`);
    process.exit(ExitCode.BadInput);
  }
  process.stderr.write(`nanomq: ${(error as Error).stack ?? error}\n`);
  process.exit(ExitCode.Failed);
}
