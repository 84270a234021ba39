/**
 * What the tslab notebooks use: load result files, tables as HTML, charts as pre-rendered SVG
 * (vega-lite mime bundles do not survive nbconvert's HTML), comparisons. Notebooks reach this
 * through notebooks/esm-import.cjs, since tslab compiles cells to CommonJS.
 */

import { formatCount, formatDuration } from '../../wire/units.js';
import { type Comparison, compareResults } from '../compare/compare.js';
import { COMPARISON_COLUMNS, comparisonRows } from '../compare/comparison-rows.js';
import { CASE_COLUMNS, caseRow, environmentLines } from '../report/case-rows.js';
import { buildCharts } from '../report/charts.js';
import { escapeHtml } from '../report/escape.js';
import { renderSvg } from '../report/render-chart.js';
import { readResultFile } from '../results/read-result.js';
import { isOkCase, type OkCase, type ResultFile } from '../results/types.js';

export { compareResults, readResultFile as loadResult };

function htmlTable(headers: string[], rows: string[][]): string {
  const th = headers.map((h) => `<th style="text-align:left">${escapeHtml(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td style="text-align:left">${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

export function casesTableHtml(result: ResultFile): string {
  return htmlTable(
    CASE_COLUMNS,
    result.cases.map((c) => caseRow(c, result.environment.latencyFloor, result.environment.networkFloor).cells),
  );
}

export function environmentHtml(result: ResultFile): string {
  return htmlTable(['', ''], environmentLines(result));
}

export async function chartsSvg(results: ResultFile[]): Promise<{ title: string; caption: string; svg: string }[]> {
  const out = [];
  for (const c of buildCharts(results)) out.push({ title: c.title, caption: c.caption, svg: await renderSvg(c.spec) });
  return out;
}

/** Fastest case per backend and workload: the one-line answer most readers want first. */
export function bestPerBackend(result: ResultFile): { backend: string; workload: string; case: string; msgsPerSec: string; p99: string }[] {
  const best = new Map<string, { c: OkCase; msgsPerSec: number }>();
  for (const c of result.cases) {
    if (!isOkCase(c) || c.summary.msgsPerSec === undefined) continue;
    const key = `${c.backend} ${c.workload}`;
    const current = best.get(key);
    if (!current || c.summary.msgsPerSec > current.msgsPerSec) best.set(key, { c, msgsPerSec: c.summary.msgsPerSec });
  }
  return [...best.values()].map(({ c, msgsPerSec }) => ({
    backend: c.backend,
    workload: c.workload,
    case: c.id,
    msgsPerSec: formatCount(msgsPerSec),
    p99: c.summary.latencyNs?.p99 !== undefined ? formatDuration(c.summary.latencyNs.p99) : '–',
  }));
}

export function comparisonTableHtml(c: Comparison): string {
  return htmlTable(
    COMPARISON_COLUMNS,
    comparisonRows(c).map((r) => r.cells),
  );
}
