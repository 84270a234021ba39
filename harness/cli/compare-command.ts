import type { Command } from 'commander';
import { type Comparison, compareResults, DEFAULT_THRESHOLD_PCT } from '../compare/compare.js';
import { COMPARISON_COLUMNS, comparisonNotes, comparisonRows } from '../compare/comparison-rows.js';
import { verdictLine } from '../compare/verdict-line.js';
import { parseThreshold, readResultOrBadInput } from './arguments.js';
import { BadInput, ExitCode } from './exit.js';
import { renderTable, TABLE_WIDTH } from './table.js';

/** A case id in the narrow table: the axes' names shortened (payload=64 → p=64), nothing dropped. */
function compactCaseId(id: string): string {
  return id
    .replace('/payload=', '/p=')
    .replace('/producers=', '/n=')
    .replace('/subscribers=', '/s=')
    .replace('/members=', '/m=')
    .replace('/batch=', '/b=')
    .replace('/wait=', '/')
    .replace('/durability=', '/')
    .replace('/rate=', '/r=')
    .replace('/fault=', '/');
}

export function comparisonTable(c: Comparison, wide = false): string {
  // SLOWER in capitals: the line a maintainer scans a CI log for.
  const rows = comparisonRows(c).map((r) => {
    const cells = r.slower ? [...r.cells.slice(0, -1), 'SLOWER'] : [...r.cells];
    if (!wide) {
      cells[0] = compactCaseId(cells[0]);
      cells[5] = r.slower ? 'SLOWER' : r.shortVerdict;
    }
    return cells;
  });
  const table = renderTable(COMPARISON_COLUMNS, rows, new Set([2, 3, 4]), wide ? undefined : { width: TABLE_WIDTH, shrink: [] });
  const lines = [
    ...(wide ? [] : ['(ids shortened: p= payload, n= producers, s=/m= subscribers/members, b= batch, r= rate; --wide: full ids, p and q)']),
    table,
    ...comparisonNotes(c),
  ];
  lines.push(
    `${c.regressions} regression(s) (${c.lostCases.length} lost case(s)), ${c.improvements} improvement(s) beyond ${c.thresholdPct}%, ${c.inconclusive} inconclusive, ${c.unconfirmed} unconfirmed (of ${c.tested} figures tested)`,
  );
  lines.push(verdictLine(c));
  return lines.join('\n');
}

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
