import type { Command } from 'commander';
import { compareResults, DEFAULT_THRESHOLD_PCT } from '../compare/compare.js';
import { parseThreshold, readResultOrBadInput } from './arguments.js';
import { comparisonTable } from './comparison-table.js';
import { BadInput, ExitCode } from './exit.js';
import { TABLE_WIDTH } from './table.js';

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('per-case ratios with confidence intervals and verdicts; exit 4 on a significant regression')
    .argument('<baseline>', 'baseline result file')
    .argument('<candidate>', 'candidate result file')
    .option('--threshold <pct>', 'smallest change that counts, in percent', String(DEFAULT_THRESHOLD_PCT))
    .option('--json', 'print machine-readable output')
    .option('--wide', `full case ids and verdicts, however wide (default: fit ${TABLE_WIDTH} columns)`)
    .action((baselinePath: string, candidatePath: string, flags: { threshold: string; json?: boolean; wide?: boolean }) => {
      const threshold = parseThreshold(flags.threshold);
      const baseline = readResultOrBadInput(baselinePath);
      const candidate = readResultOrBadInput(candidatePath);
      const [a, b] = [baseline.scenario.name, candidate.scenario.name];
      const shared = candidate.cases.filter((c) => baseline.cases.some((d) => d.id === c.id)).length;
      // Runs of two scenarios with no case in common: every baseline case would read as lost.
      if (a !== b && shared === 0) {
        throw new BadInput(
          `${baselinePath} is a run of scenario ${a}, ${candidatePath} of ${b}, and they share no case: nothing to compare (compare two runs of one scenario)`,
        );
      }
      const comparison = compareResults(baseline, candidate, threshold);
      if (a !== b) comparison.warnings.unshift(`different scenarios: ${a} → ${b}; only the ${shared} case(s) they share are compared`);
      if (comparison.tested === 0 && comparison.lostCases.length === 0) {
        comparison.warnings.push(
          `nothing was judged: no figure had enough trials on both sides for a verdict (${comparison.inconclusive} inconclusive); this exit 0 says nothing about the change (docs/method.md: run both sides with more trials)`,
        );
      }
      // Loud on stderr too, where a CI log reader looks first.
      for (const warning of comparison.warnings) process.stderr.write(`nanomq compare: WARNING: ${warning}\n`);
      process.stdout.write(flags.json ? `${JSON.stringify(comparison, null, 2)}\n` : `${comparisonTable(comparison, flags.wide === true)}\n`);
      process.exitCode = comparison.regressions > 0 ? ExitCode.Regression : ExitCode.Ok;
    });
}
