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

/**
 * The libraries' bytes and their licences (BSD-3-Clause: a copy goes with every copy), found
 * through module resolution (they may be hoisted above this package); undefined, with the
 * reason, when they cannot be found: the report then keeps its static charts.
 */
export function interactiveLibFiles(): Map<string, Uint8Array> | { missing: string } {
  const require = createRequire(import.meta.url);
  const files = new Map<string, Uint8Array>();
  try {
    for (const [pkg, build] of [
      ['vega', 'vega.min.js'],
      ['vega-lite', 'vega-lite.min.js'],
      ['vega-embed', 'vega-embed.min.js'],
    ] as const) {
      const dir = dirname(require.resolve(pkg));
      files.set(`lib/${build}`, readFileSync(join(dir, build)));
      files.set(`lib/${pkg}.LICENSE.txt`, readFileSync(join(dir, '..', 'LICENSE')));
    }
  } catch (error) {
    return { missing: (error as Error).message.split('\n')[0] };
  }
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
  const fallback = figure.querySelector('.static');
  const live = document.createElement('div');
  live.className = 'live';
  try {
    const spec = JSON.parse(document.getElementById('spec-' + figure.dataset.chart).textContent);
    fallback.after(live);
    vegaEmbed(live, spec, { actions: false, renderer: 'svg', tooltip: { theme: 'light' } })
      .then(() => { fallback.remove(); figure.dataset.interactive = 'yes'; })
      .catch((error) => { live.remove(); console.warn('chart ' + figure.dataset.chart + ' stays static: ' + error); });
  } catch (error) {
    live.remove();
    console.warn('chart ' + figure.dataset.chart + ' stays static: ' + error);
  }
}
`;
