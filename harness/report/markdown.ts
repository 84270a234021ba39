/** The Markdown report (GitHub-flavoured), with PNG charts beside it. */
import type { Comparison } from '../compare/compare.js';
import { COMPARISON_COLUMNS, comparisonNotes, comparisonRows } from '../compare/comparison-rows.js';
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
  if (comparison) {
    out.push(
      '## Comparison with the baseline',
      '',
      `Ratio = candidate / baseline (medians; 95% bootstrap interval for reading). Significant when a one-sided permutation test over the trials rejects "no change" at 2.5%, the ratio lies beyond ${comparison.thresholdPct}%, and the figure is a discovery among all ${comparison.tested ?? 0} tested (Benjamini–Hochberg, false discovery rate 5%); fewer than 5 ok trials a side: inconclusive. A case ok in the baseline but failed, skipped or missing here is a regression. ${comparison.regressions} regression(s), ${comparison.improvements} improvement(s), ${comparison.inconclusive ?? 0} inconclusive, ${comparison.unconfirmed ?? 0} unconfirmed.`,
      '',
    );
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
