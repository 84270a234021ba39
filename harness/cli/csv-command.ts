import { closeSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { casesCsv, trialsCsv } from '../results/csv.js';
import { readResultOrBadInput } from './arguments.js';
import { BadInput } from './exit.js';
import { refuseKernelPath } from './output-folder.js';

export function registerCsv(program: Command): void {
  program
    .command('csv')
    .description('result files as CSV: one row per case (or per trial), raw units, to stdout or a new file')
    .argument('<result...>', 'result files')
    .option('--trials', 'one row per trial instead of per case')
    .option('--out <file>', 'write to this new file (never over one that exists) instead of stdout')
    .action((paths: string[], flags: { trials?: boolean; out?: string }) => {
      const results = paths.map(readResultOrBadInput);
      const text = flags.trials ? trialsCsv(results) : casesCsv(results);
      const rows = flags.trials
        ? results.reduce((n, r) => n + r.cases.reduce((m, c) => m + c.trials.length, 0), 0)
        : results.reduce((n, r) => n + r.cases.length, 0);
      if (flags.out === undefined) {
        process.stdout.write(text);
        return;
      }
      refuseKernelPath(flags.out, '--out');
      let fd: number;
      try {
        fd = openSync(flags.out, 'wx');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new BadInput(
          `--out ${flags.out}: ${code === 'EEXIST' ? 'a file is already there (csv never writes over a file)' : `cannot create it (${code})`}`,
        );
      }
      try {
        // writeFileSync on a descriptor loops over short writes (a nearly full disk).
        writeFileSync(fd, text);
      } catch (error) {
        // The file is this command's own, just created: a partial one is removed, not left.
        closeSync(fd);
        unlinkSync(flags.out);
        process.stderr.write(`nanomq: csv --out ${flags.out}: could not write it (${(error as NodeJS.ErrnoException).code}); nothing was left behind\n`);
        process.exitCode = 1;
        return;
      }
      closeSync(fd);
      process.stdout.write(`csv: ${flags.out} (${rows} row(s))\n`);
    });
}
