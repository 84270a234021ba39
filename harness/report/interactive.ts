/**
 * The report's charts, live: vega-embed draws each chart's vega-lite spec in the browser, with
 * tooltips (each point's case and figures) and a legend that filters (click an entry to bring
 * its series forward, shift-click for more, click the background to reset). The libraries are
 * copied from node_modules into the report folder (`lib/`), so the report works offline and
 * from file://; each figure keeps its static SVG, which stays where scripts do not run or the
 * embed fails, and report.md keeps the PNGs.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The three UMD builds the page loads, in order (vega-embed needs the other two as globals). */
export const INTERACTIVE_LIBS = ['vega.min.js', 'vega-lite.min.js', 'vega-embed.min.js'] as const;

/** The libraries' bytes, found through module resolution (they may be hoisted above this package). */
export function interactiveLibFiles(): Map<string, Uint8Array> {
  const require = createRequire(import.meta.url);
  const buildOf = (pkg: string) => dirname(require.resolve(pkg));
  const files = new Map<string, Uint8Array>();
  files.set('lib/vega.min.js', readFileSync(join(buildOf('vega'), 'vega.min.js')));
  files.set('lib/vega-lite.min.js', readFileSync(join(buildOf('vega-lite'), 'vega-lite.min.js')));
  files.set('lib/vega-embed.min.js', readFileSync(join(buildOf('vega-embed'), 'vega-embed.min.js')));
  return files;
}

type Spec = Record<string, unknown> & { encoding?: Record<string, unknown>; params?: unknown[]; spec?: Spec; layer?: Spec[] };

/** Adds the legend filter to the view that colours by a field: the selection, and opacity that follows it. */
function withLegendFilter(view: Spec): boolean {
  const color = view.encoding?.color as { field?: string } | undefined;
  if (color?.field === undefined) return false;
  view.params = [...(view.params ?? []), { name: 'pick', select: { type: 'point', fields: [color.field] }, bind: 'legend' }];
  view.encoding = { ...view.encoding, opacity: { condition: { param: 'pick', value: 1 }, value: 0.15 } };
  return true;
}

/** The spec the browser draws: the report's own, with the legend filter where a view colours by a field. */
export function interactiveSpec(spec: object): object {
  const copy = structuredClone(spec) as Spec;
  if (withLegendFilter(copy)) return copy;
  const inner = copy.spec ?? copy;
  if (withLegendFilter(inner)) return copy;
  for (const layer of inner.layer ?? []) if (withLegendFilter(layer)) break;
  return copy;
}

/** JSON that can sit inside a <script> element: no "</script>", no line separators JavaScript reads as ends of lines. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Runs in the page: embeds every chart next to its static SVG, and swaps them only once the
 * embed succeeded (a failure leaves the static chart and logs why).
 */
export const EMBED_SCRIPT = `
for (const figure of document.querySelectorAll('figure[data-chart]')) {
  const source = document.getElementById('spec-' + figure.dataset.chart);
  const fallback = figure.querySelector('.static');
  const live = document.createElement('div');
  live.className = 'live';
  fallback.after(live);
  vegaEmbed(live, JSON.parse(source.textContent), { actions: false, renderer: 'svg', tooltip: { theme: 'light' } })
    .then(() => { fallback.remove(); figure.dataset.interactive = 'yes'; })
    .catch((error) => { live.remove(); console.warn('chart ' + figure.dataset.chart + ' stays static: ' + error); });
}
`;
