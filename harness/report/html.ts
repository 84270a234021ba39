/**
 * The HTML report: one page (charts inline as SVG, CSS inline, no network requests), readable
 * on a phone (tables scroll sideways) and on a wide screen. The charts come alive with the
 * libraries in the folder's lib/ (interactive.ts); without scripts the static SVGs remain.
 */

import { formatCount, formatDuration } from '../../wire/units.js';
import type { Comparison } from '../compare/compare.js';
import { COMPARISON_COLUMNS, comparisonMethod, comparisonNotes, comparisonRows } from '../compare/comparison-rows.js';
import { NEAR_BELOW_NS, placementNotes } from '../results/placement.js';
import type { CaseResult, ResultFile } from '../results/types.js';
import { allCaseRows, environmentLines, METHOD } from './case-rows.js';
import { escapeHtml as h } from './escape.js';
import { EMBED_SCRIPT, INTERACTIVE_LIBS, scriptJson } from './interactive.js';

export interface RenderedChart {
  id: string;
  title: string;
  caption: string;
  svg: string;
  png: string;
  /** The vega-lite spec the browser draws (with its legend filter). */
  spec: object;
}

const CSS = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6474; --line: #d9dee7; --warn: #8a5a00; --warn-bg: #fff6e0; --bad: #a4001d; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); }
main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid var(--line); }
.muted { color: var(--muted); }
.warnings { background: var(--warn-bg); color: var(--warn); border: 1px solid #f0d48a; border-radius: 6px; padding: .5rem 1rem; }
figure { margin: 1.5rem 0; } figure svg { max-width: 100%; height: auto; display: block; }
#vg-tooltip-element { font: 13px/1.4 system-ui, sans-serif; }
figcaption { color: var(--muted); font-size: .9rem; max-width: 70ch; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; font-size: .85rem; min-width: 100%; }
th, td { padding: .3rem .5rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; white-space: nowrap; }
td.notes { white-space: normal; min-width: 16rem; }
th { background: #f4f6f9; position: sticky; top: 0; }
tr.failed td { color: var(--bad); } tr.skipped td { color: var(--muted); } tr.oversubscribed td.case::after { content: " ⚠"; color: var(--warn); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dt { font-weight: 600; } dd { margin: 0; }
@media (max-width: 640px) { dl { grid-template-columns: 1fr; } main { padding: .5rem; } }
`;

function table(headers: string[], rows: { cells: string[]; className?: string }[], notesColumn = -1, caseColumn = headers.indexOf('case')): string {
  const head = headers.map((c) => `<th>${h(c)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr${r.className ? ` class="${r.className}"` : ''}>${r.cells.map((c, i) => `<td${i === notesColumn ? ' class="notes"' : i === caseColumn ? ' class="case"' : ''}>${h(c)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** The cases whose figures differ by placement of the cores, each mode with its trials. */
function placementHtml(cases: CaseResult[]): string {
  const modes = placementNotes(cases, formatCount, formatDuration);
  if (modes.length === 0) return '';
  return `<h2 id="placement">By placement of the cores</h2>
<p class="muted">These cases ran on both placements of the cores (near: core-to-core round trip under ${NEAR_BELOW_NS} ns; far: at or over it), and their figures differ between the two: each mode with its trials, since one median would describe neither.</p>
<ul>${modes.map((l) => `<li>${h(l)}</li>`).join('')}</ul>`;
}

function comparisonHtml(c: Comparison): string {
  const rows = comparisonRows(c).map((r) => ({ cells: r.cells, className: r.slower ? 'failed' : undefined }));
  const notes = comparisonNotes(c);
  return `<h2 id="comparison">Comparison with the baseline</h2>
<p class="muted">Baseline ${h(c.baseline.scenario)} (${h(c.baseline.startedAt)}, ${h(c.baseline.gitCommit ?? 'no commit')}) against this run. ${h(comparisonMethod(c))}</p>
${table(COMPARISON_COLUMNS, rows)}
${notes.length ? `<ul>${notes.map((e) => `<li>${h(e)}</li>`).join('')}</ul>` : ''}`;
}

export function renderHtml(results: ResultFile[], charts: RenderedChart[], comparison?: Comparison, notebookNote?: string, interactive = true): string {
  const title = `NanoMQ report: ${results.map((r) => r.scenario.name).join(', ')}`;
  const warnings = [...new Set(results.flatMap((r) => r.environment.warnings))];
  const cases = results.flatMap((r) => r.cases);
  const counts = { ok: 0, failed: 0, skipped: 0 };
  for (const c of cases) counts[c.status]++;
  const oversubscribed = cases.filter((c) => c.oversubscribed && c.status !== 'skipped').length;
  const { columns, rows: caseRows } = allCaseRows(results);
  const rows = caseRows.map((r) => ({
    cells: r.cells,
    className: [r.status !== 'ok' ? r.status : '', r.oversubscribed ? 'oversubscribed' : ''].filter(Boolean).join(' ') || undefined,
  }));
  const figures = charts
    .map(
      (c) =>
        `<figure id="${h(c.id)}" data-chart="${h(c.id)}">\n<h3>${h(c.title)}</h3>\n<div class="static">${c.svg}</div>\n<script type="application/json" id="spec-${h(c.id)}">${scriptJson(c.spec)}</script>\n<figcaption>${h(c.caption)}</figcaption>\n</figure>`,
    )
    .join('\n');
  const environment = results
    .map(
      (r) =>
        `<dl>${environmentLines(r)
          .map(([k, v]) => `<dt>${h(k)}</dt><dd>${h(v)}</dd>`)
          .join('')}</dl>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${h(title)}</h1>
${results.map((r) => `<p class="muted">${h(r.scenario.description ?? '')}</p>`).join('\n')}
<p>${cases.length} cases: ${counts.ok} ok, ${counts.failed} failed, ${counts.skipped} skipped${oversubscribed ? `, ${oversubscribed} oversubscribed (⚠)` : ''}.</p>
${warnings.length ? `<div class="warnings"><strong>Read with care:</strong><ul>${warnings.map((w) => `<li>${h(w)}</li>`).join('')}</ul></div>` : ''}
<h2 id="charts">Charts</h2>
${figures || '<p class="muted">No case produced data for a chart.</p>'}
<h2 id="cases">Every case</h2>
<p class="muted">Failed cases in red, skipped ones grey with the reason, oversubscribed ones marked ⚠ (more busy threads than cores).</p>
${table(columns, rows, columns.length - 1)}
${placementHtml(cases)}
${comparison ? comparisonHtml(comparison) : ''}
<h2 id="environment">Environment</h2>
${environment}
<h2 id="method">Method</h2>
<dl>${METHOD.map(([k, v]) => `<dt>${h(k)}</dt><dd>${h(v)}</dd>`).join('')}</dl>
${notebookNote ? `<p class="muted">${h(notebookNote)}</p>` : ''}
</main>
${interactive && charts.length > 0 ? `${INTERACTIVE_LIBS.map((lib) => `<script src="lib/${lib}"></script>`).join('\n')}\n<script>${EMBED_SCRIPT}</script>` : ''}
</body>
</html>
`;
}
