/** The Markdown report (GitHub-flavoured), with PNG charts beside it. */

import { formatCount, formatDuration } from '../../wire/units.js';
import type { Comparison } from '../compare/compare.js';
import { COMPARISON_COLUMNS, comparisonMethod, comparisonNotes, comparisonRows } from '../compare/comparison-rows.js';
import { NEAR_BELOW_NS, placementNotes } from '../results/placement.js';
import type { ResultFile } from '../results/types.js';
import { allCaseRows, environmentLines, METHOD } from './case-rows.js';
import { escapeMarkdown as m } from './escape.js';
import type { RenderedChart } from './html.js';

function table(headers: string[], rows: string[][]): string {
  return [
    `| ${headers.map(m).join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map((c) => m(c) || ' ').join(' | ')} |`),
  ].join('\n');
}

export function renderMarkdown(results: ResultFile[], charts: RenderedChart[], comparison?: Comparison): string {
  const out: string[] = [];
  out.push(`# NanoMQ report: ${m(results.map((r) => r.scenario.name).join(', '))}`, '');
  for (const r of results) if (r.scenario.description) out.push(m(r.scenario.description), '');
  const warnings = [...new Set(results.flatMap((r) => r.environment.warnings))];
  if (warnings.length) out.push('> **Read with care:**', ...warnings.map((w) => `> - ${m(w)}`), '');
  out.push('## Charts', '');
  for (const c of charts) out.push(`### ${m(c.title)}`, '', `![${m(c.title)}](${c.png})`, '', `*${m(c.caption)}*`, '');
  out.push('## Every case', '', 'Oversubscribed cases (more busy threads than cores) are flagged OVERSUBSCRIBED in the notes.', '');
  const { columns, rows } = allCaseRows(results);
  out.push(
    table(
      columns,
      rows.map((r) => r.cells),
    ),
    '',
  );
  const modes = placementNotes(
    results.flatMap((r) => r.cases),
    formatCount,
    formatDuration,
  );
  if (modes.length > 0)
    out.push(
      '## By placement of the cores',
      '',
      `These cases ran on both placements of the cores (near: core-to-core round trip under ${NEAR_BELOW_NS} ns; far: at or over it), and their figures differ between the two: each mode with its trials, since one median would describe neither.`,
      '',
      ...modes.map((l) => `- ${m(l)}`),
      '',
    );
  if (comparison) {
    out.push('## Comparison with the baseline', '', m(comparisonMethod(comparison)), '');
    out.push(
      table(
        COMPARISON_COLUMNS,
        comparisonRows(comparison).map((r) => r.cells),
      ),
      '',
    );
    out.push(...comparisonNotes(comparison).map((n) => `- ${m(n)}`), '');
  }
  out.push('## Environment', '');
  for (const r of results) out.push(...environmentLines(r).map(([k, v]) => `- **${m(k)}**: ${m(v)}`), '');
  out.push('## Method', '', ...METHOD.map(([k, v]) => `- **${m(k)}**: ${m(v)}`), '');
  return out.join('\n');
}
