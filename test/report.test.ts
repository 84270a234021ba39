/**
 * Reports from a fixture result: charts present, the numbers shown are the result's, every
 * string escaped, no network resources; and the HTML as a browser sees it (headless Chromium).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCharts } from '../harness/report/charts.js';
import { type WrittenReport, writeReport } from '../harness/report/write-report.js';
import type { ResultFile } from '../harness/results/types.js';
import { formatCount, formatDuration } from '../wire/units.js';
import { nanomq, root, tempDir } from './support/cli.js';
import { synthCase, synthResult } from './support/synthetic-result.js';

const EVIL = '<script>alert(1)</script>';

function fixture(): ResultFile {
  const cases = [
    synthCase('sab-spsc/throughput/payload=0/producers=1/batch=1/wait=spin', [30.5e6, 31e6, 29.8e6]),
    synthCase('post-message/throughput/payload=0/producers=1/batch=1/wait=spin', [180e3, 175e3, 190e3]),
    synthCase('sab-spsc/ping-pong/payload=0/producers=1/batch=1/wait=spin', [700e3, 710e3, 690e3], [4000, 4100, 3900]),
    synthCase('mpsc-cas/throughput/payload=0/producers=2/batch=1/wait=spin', [2e6, 2.1e6, 1.9e6]),
    synthCase('mpsc-cas/throughput/payload=0/producers=1/batch=1/wait=spin', [3e6, 3.1e6, 2.9e6]),
  ];
  cases[1].params = { ...cases[1].params };
  cases[3].params = { ...cases[3].params, producers: 2 };
  cases[3].oversubscribed = true;
  cases.push({
    ...synthCase('mutex/throughput/payload=0/producers=1/batch=1/wait=spin', [1]),
    status: 'failed',
    reason: `delivery errors: 3 lost <b>${EVIL}</b>`,
    summary: undefined,
  });
  cases.push({
    ...synthCase('sab-spsc/throughput/payload=0/producers=4/batch=1/wait=spin', [1]),
    status: 'skipped',
    reason: 'sab-spsc serves at most 1 producer(s)',
    trials: [],
    summary: undefined,
  });
  const r = synthResult(cases, EVIL);
  r.scenario.description = `description with ${EVIL} & friends`;
  r.environment.warnings = ['only 2 cores: cases with more busy threads than cores are marked oversubscribed'];
  return r;
}

describe('report from a fixture result', () => {
  let report: WrittenReport;
  let html: string;
  let md: string;
  const result = fixture();
  beforeAll(async () => {
    report = await writeReport([result], { out: join(tempDir(), 'report') });
    html = readFileSync(report.htmlPath, 'utf8');
    md = readFileSync(report.markdownPath, 'utf8');
  });

  it('has at least three inline SVG charts, and PNGs beside the Markdown', () => {
    expect((html.match(/<figure id="[^"]+" data-chart="[^"]+">/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(3);
    for (const png of report.charts) expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    expect(md).toMatch(/!\[Throughput by backend, payload and batch\]\(charts\/throughput\.png\)/);
    expect(html).toContain('Throughput as producers grow');
  });

  it('shows the numbers of the result', () => {
    const c = result.cases[0];
    expect(html).toContain(formatCount(c.summary!.msgsPerSec!));
    expect(html).toContain(formatDuration(c.summary!.latencyNs!.p99!));
    expect(md).toContain(formatCount(result.cases[1].summary!.msgsPerSec!));
  });

  it('shows failed, skipped and oversubscribed cases, never dropping them', () => {
    for (const c of result.cases) expect(html).toContain(c.id);
    expect(html).toMatch(/<tr class="failed">/);
    expect(html).toMatch(/<tr class="skipped">/);
    expect(html).toMatch(/class="oversubscribed"/);
    expect(html).toContain('sab-spsc serves at most 1 producer(s)');
    expect(md).toContain('OVERSUBSCRIBED');
  });

  it('escapes every string from the scenario and result', () => {
    // The one inline script is the report's own embed script; the scenario's string never appears raw.
    expect(html).not.toContain(EVIL);
    expect(html.split('<script>')).toHaveLength(2);
    expect(html).not.toContain('<b>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(md).not.toContain('<script>');
    expect(md).not.toContain('<b>');
  });

  it('loads nothing from the network: no external src, href or url()', () => {
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<link/i);
    // Scripts: the chart libraries from the report's own lib/, the charts' specs as JSON, and
    // the one inline script that embeds them; nothing else.
    const scripts = html.match(/<script[^>]*>/gi) ?? [];
    for (const tag of scripts)
      expect(tag).toMatch(/^<script( src="lib\/(vega|vega-lite|vega-embed)\.min\.js"| type="application\/json" id="spec-[a-z0-9-]+")?>$/);
    expect(scripts.filter((t) => t === '<script>')).toHaveLength(1);
    for (const lib of ['vega', 'vega-lite', 'vega-embed']) {
      expect(existsSync(join(report.dir, 'lib', `${lib}.min.js`)), lib).toBe(true);
      // BSD-3-Clause: the notice travels with every copy.
      expect(readFileSync(join(report.dir, 'lib', `${lib}.LICENSE.txt`), 'utf8'), lib).toMatch(/Copyright/);
    }
  });

  it('has the environment and method sections and the warnings', () => {
    expect(html).toContain('id="environment"');
    expect(html).toContain('id="method"');
    expect(html).toContain('coordinated omission');
    expect(html).toContain('only 2 cores');
  });
});

describe('chart specs inside the page', () => {
  it('cannot close their script element or end a line early, and read back unchanged', async () => {
    const { scriptJson } = await import('../harness/report/interactive.js');
    const hostile = { backend: `x</script><script>alert(1)</script><!--\u2028\u2029&`, n: 1 };
    const text = scriptJson(hostile);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(hostile);
  });
});

describe('a report of two runs of one scenario', () => {
  it('says which run each row came from (a run column), and has none when every case appears once', async () => {
    const first = fixture();
    const second = fixture();
    first.scenario.name = 'twice';
    second.scenario.name = 'twice';
    first.environment.startedAt = '2026-12-01T10:00:00.123Z';
    second.environment.startedAt = '2026-12-02T11:30:00.456Z';
    const both = await writeReport([first, second], { out: join(tempDir(), 'report') });
    const md = readFileSync(both.markdownPath, 'utf8');
    const html = readFileSync(both.htmlPath, 'utf8');
    const rows = md.split('\n').filter((l) => l.includes('sab-spsc/throughput/payload=0/producers=1/batch=1/wait=spin'));
    expect(md).toMatch(/^\| run \| case \|/m);
    expect(rows.map((r) => r.split('|')[1].trim())).toEqual(['run 1: twice 2026-12-01T10:00:00Z', 'run 2: twice 2026-12-02T11:30:00Z']);
    // The charts keep the runs apart too: each run's cases are their own series.
    const spec = readFileSync(join(both.dir, 'charts', 'spectrum-throughput.vl.json'), 'utf8');
    expect(spec).toContain('sab-spsc (run 1)');
    expect(spec).toContain('sab-spsc (run 2)');
    expect(html).toMatch(/<th>run<\/th>/);
    const one = await writeReport([fixture()], { out: join(tempDir(), 'report') });
    expect(readFileSync(one.markdownPath, 'utf8')).not.toMatch(/^\| run \|/m);
  });
});

const chromium = '/usr/bin/chromium';
describe.runIf(existsSync(chromium) || process.env.CI)('the HTML report in headless Chromium', () => {
  it('draws every chart live (tooltip on hover, legend filters), with a size, no errors, nothing remote; screenshot written', async () => {
    const { chromium: pw } = await import('playwright-core');
    const report = await writeReport([fixture()], { out: join(tempDir(), 'report') });
    const browser = await pw.launch({
      executablePath: chromium,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      for (const viewport of [
        { width: 390, height: 844 },
        { width: 1440, height: 900 },
      ]) {
        const page = await browser.newPage({ viewport });
        const errors: string[] = [];
        const remote: string[] = [];
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        page.on('pageerror', (e) => errors.push(e.message));
        page.on('request', (r) => !/^(file|data|about):/.test(r.url()) && remote.push(r.url()));
        await page.goto(`file://${report.htmlPath}`);
        // Every chart is drawn live by vega-embed (its static SVG then removed).
        await page.waitForFunction(
          // Runs in the page (a browser's `document`; the tests are type-checked without the DOM's types).
          () => {
            const page = (globalThis as unknown as { document: { querySelectorAll(selector: string): { length: number } } }).document;
            return page.querySelectorAll('figure[data-chart]').length === page.querySelectorAll('figure[data-interactive="yes"]').length;
          },
          null,
          { timeout: 15_000 },
        );
        expect(await page.$$eval('figure .static', (s) => s.length)).toBe(0);
        // A tooltip with the point's case and figures appears on hover.
        const point = await page.$('#throughput .mark-symbol path');
        await point!.hover({ force: true });
        await page.waitForSelector('#vg-tooltip-element.visible', { timeout: 5_000 });
        expect(await page.$eval('#vg-tooltip-element', (t) => t.textContent)).toMatch(/backend.*msgsPerSec/);
        // A legend entry filters: the other series fade.
        const legend = await page.$('#spectrum-throughput .role-legend-symbol path');
        await legend!.click({ force: true });
        // Waited for, not slept on: this file may share the cores with another (vitest.config.ts).
        // (A string: the page's code, typed by no DOM library here.)
        await page.waitForFunction(
          "[...document.querySelectorAll('#spectrum-throughput .mark-line path')].some((p) => (p.getAttribute('opacity') ?? p.style.opacity) === '0.15')",
          undefined,
          { timeout: 5_000 },
        );
        const opacities = await page.$$eval('#spectrum-throughput .mark-line path', (paths) => paths.map((p) => p.getAttribute('opacity') ?? p.style.opacity));
        expect(opacities).toContain('0.15');
        const sizes = await page.$$eval('figure svg', (svgs) => svgs.map((s) => s.getBoundingClientRect()).map((b) => [b.width, b.height]));
        expect(sizes.length).toBeGreaterThanOrEqual(3);
        for (const [w, h] of sizes) {
          expect(w).toBeGreaterThan(50);
          expect(h).toBeGreaterThan(50);
          // Charts fit the screen: no chart wider than a phone.
          expect(w).toBeLessThanOrEqual(viewport.width);
        }
        expect(errors).toEqual([]);
        expect(remote).toEqual([]);
        const dir = join(root, 'reports', 'test-screenshots');
        mkdirSync(dir, { recursive: true });
        const shot = join(dir, `report-${viewport.width}.png`);
        await page.screenshot({ path: shot, fullPage: true });
        expect(readFileSync(shot).length).toBeGreaterThan(10_000);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});

describe('nanomq report', () => {
  it('writes HTML and Markdown for a result file, and refuses a bad one with exit 2', () => {
    const dir = tempDir();
    const path = join(dir, 'r.json');
    // A scenario name in a file must be a scenario name; the hostile strings stay elsewhere.
    writeFileSync(path, JSON.stringify({ ...fixture(), scenario: { ...fixture().scenario, name: 'fixture' } }));
    const r = nanomq(['report', path, '--out', join(dir, 'out')]);
    expect(r.status).toBe(0);
    expect(existsSync(join(dir, 'out', 'index.html'))).toBe(true);
    expect(existsSync(join(dir, 'out', 'report.md'))).toBe(true);
    writeFileSync(join(dir, 'bad.json'), '{"schema":"nope"}');
    const bad = nanomq(['report', join(dir, 'bad.json')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/bad.json: schema is "nope"/);
  });
});

describe('the brokers chart', () => {
  // Two backends with a server, and postMessage for reference: the chart has a point for each.
  const cases = () => [synthCase('broker/throughput', [1e6]), synthCase('nats/throughput', [2e6]), synthCase('redis-streams/throughput', [5e5])];
  const brokers = (r: ResultFile) => buildCharts([r]).find((c) => c.id === 'brokers-throughput-vs-p99');
  const plotted = (r: ResultFile) => JSON.stringify(brokers(r)?.spec ?? null);
  const server = { url: 'tcp://127.0.0.1:1', description: 'test', startedByHarness: true };

  it("finds a backend's server by the record's backend field, whatever the key", () => {
    const r = synthResult(cases());
    r.environment.servers = { a: { ...server, backend: 'broker', durability: 'none' }, b: { ...server, backend: 'nats', durability: 'batch' } };
    expect(plotted(r)).toContain('"backend":"broker"');
    expect(plotted(r)).toContain('"backend":"nats"');
    expect(plotted(r)).not.toContain('"backend":"redis-streams"');
  });

  it('in files written before the field, by the key: the id, or the id before /durability=', () => {
    const r = synthResult(cases());
    r.environment.servers = { broker: server, 'nats/durability=batch': server };
    expect(plotted(r)).toContain('"backend":"broker"');
    expect(plotted(r)).toContain('"backend":"nats"');
    expect(plotted(r)).not.toContain('"backend":"redis-streams"');
  });
});
