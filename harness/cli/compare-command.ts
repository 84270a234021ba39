import type { Command } from 'commander';
import { compareResults, type Comparison } from '../compare/compare.js';
import { COMPARISON_COLUMNS, comparisonNotes, comparisonRows } from '../compare/comparison-rows.js';
import { readResultFile, ResultFileError } from '../results/read-result.js';
import type { ResultFile } from '../results/types.js';
import { BadInput, ExitCode } from './exit.js';
import { renderTable } from './table.js';

export function readResultOrBadInput(path: string): ResultFile {
  try {
    return readResultFile(path);
  } catch (error) {
    if (error instanceof ResultFileError) throw new BadInput(error.message);
    throw error;
  }
}

export function parseThreshold(value: string): number {
  const n = Number(value.replace(/%$/, ''));
  if (value.replace(/%$/, '').trim() === '' || !Number.isFinite(n) || n < 0 || n >= 100) throw new BadInput(`--threshold: expected a percentage from 0 to 100, got ${JSON.stringify(value)}`);
  return n;
}

export function comparisonTable(c: Comparison): string {
  // SLOWER in capitals: the line a maintainer scans a CI log for.
  const rows = comparisonRows(c).map((r) => (r.slower ? [...r.cells.slice(0, -1), 'SLOWER'] : r.cells));
  const lines = [renderTable(COMPARISON_COLUMNS, rows, new Set([2, 3, 4])), ...comparisonNotes(c)];
  lines.push(`${c.regressions} regression(s) (${c.lostCases.length} lost case(s)), ${c.improvements} improvement(s) beyond ${c.thresholdPct}%, ${c.inconclusive} inconclusive`);
  return lines.join('\n');
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('per-case ratios with confidence intervals and verdicts; exit 4 on a significant regression')
    .argument('<baseline>', 'baseline result file')
    .argument('<candidate>', 'candidate result file')
    .option('--threshold <pct>', 'smallest change that counts, in percent', '5')
    .option('--json', 'print machine-readable output')
    .action((baselinePath: string, candidatePath: string, flags: { threshold: string; json?: boolean }) => {
      const threshold = parseThreshold(flags.threshold);
      const comparison = compareResults(readResultOrBadInput(baselinePath), readResultOrBadInput(candidatePath), threshold);
      // Loud on stderr too, where a CI log reader looks first.
      for (const warning of comparison.warnings) process.stderr.write(`nanomq compare: WARNING: ${warning}\n`);
      process.stdout.write(flags.json ? JSON.stringify(comparison, null, 2) + '\n' : comparisonTable(comparison) + '\n');
      process.exitCode = comparison.regressions > 0 ? ExitCode.Regression : ExitCode.Ok;
    });
}
