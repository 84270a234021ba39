/**
 * `nanomq report`: result files → a report folder with index.html, report.md, charts/*.png,
 * *.svg, *.vl.json, and lib/ (the chart libraries the page loads, copied from node_modules).
 *
 * The folder may hold the user's own files, so nothing is deleted that this tool did not write:
 * every report folder carries a manifest (`.nanomq-report`, the files the last report wrote),
 * and a new report replaces exactly those. A folder that exists, is not empty and has no
 * manifest is refused, as is a path that is a file. Everything is rendered in memory first, so a
 * rendering failure leaves the old report as it was.
 */
import {
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { compareResults } from '../compare/compare.js';
import type { ResultFile } from '../results/types.js';
import { buildCharts } from './charts.js';
import { type RenderedChart, renderHtml } from './html.js';
import { interactiveLibFiles, interactiveSpec } from './interactive.js';
import { renderMarkdown } from './markdown.js';
import { renderSvg, svgToPng } from './render-chart.js';

export const REPORT_MANIFEST = '.nanomq-report';
/** Where reports go without --out; a default path never leaves this folder. */
export const REPORTS_FOLDER = 'reports';
const SAFE_NAME = /^[a-z0-9-]+$/;

export interface ReportOptions {
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

/** Thrown when the output folder cannot be used; the CLI turns it into exit 2. */
export class ReportFolderError extends Error {}

/**
 * reports/<name>[+<name>…]. Names come from result files, which anyone can edit: each must be
 * a scenario name ([a-z0-9-]+), and the folder must resolve inside reports/.
 */
export function defaultReportDir(results: ResultFile[]): string {
  const names = results.map((r) => r.scenario.name);
  const bad = names.find((n) => typeof n !== 'string' || !SAFE_NAME.test(n));
  if (bad !== undefined) throw new ReportFolderError(`scenario name ${JSON.stringify(bad)} in a result file is not a scenario name ([a-z0-9-]+); pass --out`);
  const dir = join(REPORTS_FOLDER, names.join('+'));
  const inside = relative(resolve(REPORTS_FOLDER), resolve(dir));
  if (inside === '' || inside.startsWith('..') || inside.includes(`..${sep}`))
    throw new ReportFolderError(`report folder ${dir} leaves ${REPORTS_FOLDER}/; pass --out`);
  return dir;
}

interface Manifest {
  files: string[];
}

/** What a report writes besides its charts, and what `--notebook` adds: no link may stand at any of them. */
const REPORT_FILES = ['index.html', 'report.md', 'charts', 'lib', REPORT_MANIFEST, 'explore.ipynb', 'explore.html', 'compare.ipynb', 'compare.html'];

/**
 * The files a previous report wrote here, or throws when the folder is not this tool's to write:
 * not a report's, or holding a symbolic link where a report writes (checked before anything
 * is changed or any machine time spent).
 */
export function checkReportFolder(dir: string): Manifest {
  if (!existsSync(dir)) return { files: [] };
  const manifest = readManifest(dir);
  // (The manifest's entries are only ever deleted, and ownFile keeps those inside the folder.)
  refuseLinks(dir, REPORT_FILES);
  return manifest;
}

function readManifest(dir: string): Manifest {
  if (!statSync(dir).isDirectory()) throw new ReportFolderError(`${dir}: is a file, not a report folder`);
  const manifestPath = join(dir, REPORT_MANIFEST);
  if (!existsSync(manifestPath)) {
    if (readdirSync(dir).length === 0) return { files: [] };
    throw new ReportFolderError(
      `${dir}: folder is not empty and holds no report (no ${REPORT_MANIFEST}: not written by nanomq, or by a version before report manifests); nothing was changed: move it away or choose another --out`,
    );
  }
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (!Array.isArray(manifest.files) || !manifest.files.every((f) => typeof f === 'string')) throw new Error('no file list');
    return manifest;
  } catch (error) {
    throw new ReportFolderError(`${manifestPath}: unreadable report manifest (${(error as Error).message}); nothing was changed`);
  }
}

function isInside(root: string, path: string): boolean {
  const inside = relative(root, path);
  return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside);
}

/**
 * A manifest entry must name a file inside the folder: a hand-edited one cannot reach out, by
 * `..` or through a symbolic link (the deepest part of the path that exists must resolve, links
 * followed, inside the folder too).
 */
function ownFile(dir: string, file: string): string | undefined {
  const root = resolve(dir);
  const path = resolve(root, file);
  if (!isInside(root, path)) return undefined;
  let existing = dirname(path);
  while (!existsSync(existing)) existing = dirname(existing);
  const real = realpathSync(existing);
  const realRoot = realpathSync(root);
  return real === realRoot || isInside(realRoot, real) ? path : undefined;
}

/**
 * Writes a report's file without following a symbolic link at its name: one placed there (by
 * hand, or by someone else) would have the report overwrite whatever it points at.
 */
export function writeOwnFile(path: string, contents: string | Uint8Array): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP')
      throw new ReportFolderError(`${path}: is a symbolic link; a report never writes through one (nothing written there)`);
    throw error;
  }
  try {
    writeFileSync(fd, contents);
  } finally {
    closeSync(fd);
  }
}

/**
 * Throws when a symbolic link stands at any step of these paths inside `dir` (a linked `charts`
 * folder as much as a linked `report.md`): a report writes there, and would write through it.
 */
export function refuseLinks(dir: string, files: Iterable<string>): void {
  const root = resolve(dir);
  for (const file of files) {
    const path = resolve(root, file);
    if (!isInside(root, path)) continue;
    for (let step = path; step !== root && isInside(root, step); step = dirname(step)) {
      if (isLink(step))
        throw new ReportFolderError(`${step}: is a symbolic link where the report writes; nothing was changed: remove the link or choose another --out`);
    }
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Replaces the files the last report wrote in `dir` with `files` (relative path → contents). */
export function replaceReportFiles(dir: string, files: Map<string, string | Uint8Array>): void {
  const previous = checkReportFolder(dir);
  refuseLinks(dir, files.keys());
  mkdirSync(dir, { recursive: true });
  for (const old of previous.files) {
    const path = ownFile(dir, old);
    // Files only: a report never writes a folder's contents as one entry, so a listed folder
    // is a hand edit and stays.
    if (path && !files.has(old) && existsSync(path) && !lstatSync(path).isDirectory()) rmSync(path, { force: true });
  }
  for (const [file, contents] of files) {
    const path = ownFile(dir, file);
    if (!path) throw new ReportFolderError(`${file}: not a file inside ${dir}`);
    mkdirSync(join(path, '..'), { recursive: true });
    writeOwnFile(path, contents);
  }
  writeOwnFile(join(dir, REPORT_MANIFEST), `${JSON.stringify({ files: [...files.keys()].sort() }, null, 2)}\n`);
}

/** Adds files written into a report folder after the report (executed notebooks) to its manifest. */
export function recordReportFiles(dir: string, added: string[]): void {
  const manifest = checkReportFolder(dir);
  const files = [...new Set([...manifest.files, ...added.map((a) => relative(resolve(dir), resolve(a)))])].sort();
  writeOwnFile(join(dir, REPORT_MANIFEST), `${JSON.stringify({ files }, null, 2)}\n`);
}

export async function writeReport(results: ResultFile[], options: ReportOptions): Promise<WrittenReport> {
  const dir = options.out ?? defaultReportDir(results);
  checkReportFolder(dir);
  const files = new Map<string, string | Uint8Array>();
  const rendered: RenderedChart[] = [];
  for (const chart of buildCharts(results)) {
    const svg = await renderSvg(chart.spec);
    files.set(`charts/${chart.id}.svg`, svg);
    files.set(`charts/${chart.id}.png`, svgToPng(svg));
    files.set(`charts/${chart.id}.vl.json`, JSON.stringify(chart.spec, null, 2));
    rendered.push({ id: chart.id, title: chart.title, caption: chart.caption, svg, png: `charts/${chart.id}.png`, spec: interactiveSpec(chart.spec) });
  }
  // The libraries that make the charts interactive, offline (interactive.ts); without them the
  // charts stay static, and stderr says why.
  let interactive = false;
  if (rendered.length > 0) {
    const libs = interactiveLibFiles();
    if (libs instanceof Map) {
      for (const [path, bytes] of libs) files.set(path, bytes);
      interactive = true;
    } else process.stderr.write(`nanomq report: charts left static, the chart libraries were not found (${libs.missing})\n`);
  }
  const comparison = options.baseline ? compareResults(options.baseline, results[0], options.thresholdPct ?? 5) : undefined;
  files.set('index.html', renderHtml(results, rendered, comparison, options.notebookNote, interactive));
  files.set('report.md', renderMarkdown(results, rendered, comparison));
  // Everything the previous report wrote goes, executed notebooks included: they belonged to
  // other results (`--notebook` executes them again for these).
  replaceReportFiles(dir, files);
  return { dir, htmlPath: join(dir, 'index.html'), markdownPath: join(dir, 'report.md'), charts: rendered.map((c) => join(dir, c.png)) };
}
