/**
 * `nanomq report`: result files → reports/<name>/ with index.html (self-contained), report.md
 * and charts/*.png + *.svg. Writes go to a temporary folder first and replace the old report
 * at the end, so a failure never leaves half a report.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { compareResults } from '../compare/compare.js';
import type { ResultFile } from '../results/types.js';
import { buildCharts } from './charts.js';
import { renderHtml, type RenderedChart } from './html.js';
import { renderMarkdown } from './markdown.js';
import { renderSvg, svgToPng } from './render-chart.js';

export interface ReportOptions {
  /** Where the result files came from (named in the report). */
  sourcePaths: string[];
  /** Output folder; default reports/<scenario names>/. */
  out?: string;
  baseline?: ResultFile;
  thresholdPct?: number;
  /** A line about notebooks (executed or how to enable them), shown at the end of the HTML. */
  notebookNote?: string;
}

export interface WrittenReport {
  dir: string;
  htmlPath: string;
  markdownPath: string;
  charts: string[];
}

export function defaultReportDir(results: ResultFile[]): string {
  return join('reports', results.map((r) => r.scenario.name).join('+'));
}

export async function writeReport(results: ResultFile[], options: ReportOptions): Promise<WrittenReport> {
  const dir = options.out ?? defaultReportDir(results);
  const staging = join(dirname(dir), `.${basename(dir)}.${process.pid}.tmp`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'charts'), { recursive: true });
  try {
    const rendered: RenderedChart[] = [];
    for (const chart of buildCharts(results)) {
      const svg = await renderSvg(chart.spec);
      writeFileSync(join(staging, 'charts', `${chart.id}.svg`), svg);
      writeFileSync(join(staging, 'charts', `${chart.id}.png`), svgToPng(svg));
      writeFileSync(join(staging, 'charts', `${chart.id}.vl.json`), JSON.stringify(chart.spec, null, 2));
      rendered.push({ id: chart.id, title: chart.title, caption: chart.caption, svg, png: `charts/${chart.id}.png` });
    }
    const comparison = options.baseline ? compareResults(options.baseline, results[0], options.thresholdPct ?? 5) : undefined;
    writeFileSync(join(staging, 'index.html'), renderHtml(results, rendered, comparison, options.notebookNote));
    writeFileSync(join(staging, 'report.md'), renderMarkdown(results, rendered, comparison));
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(staging, dir);
    return { dir, htmlPath: join(dir, 'index.html'), markdownPath: join(dir, 'report.md'), charts: rendered.map((c) => join(dir, c.png)) };
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
