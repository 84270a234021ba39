/**
 * The comparison as the terminal shows it (`compare`, and `run --confirm-against` after its
 * follow-ups): the table, narrow unless --wide, its notes, the counts, and the verdict line.
 */
import type { Comparison } from '../compare/compare.js';
import { COMPARISON_COLUMNS, comparisonNotes, comparisonRows } from '../compare/comparison-rows.js';
import { verdictLine } from '../compare/verdict-line.js';
import { renderTable, TABLE_WIDTH } from './table.js';

/** A case id in the narrow table: the axes' names shortened (payload=64 → p=64), nothing dropped. */
export function compactCaseId(id: string): string {
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
