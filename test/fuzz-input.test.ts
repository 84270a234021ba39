/**
 * Malformed input, generated: ≥ 1 000 scenario files and ≥ 1 000 result files, each broken in a
 * random place, go through everything that reads them (the scenario loader; the result reader,
 * compare, the report's Markdown, HTML and chart specs, the summary table). Each must be refused
 * with a one-line message naming the file, or handled: never a TypeError, never a stack trace.
 * The CLI-level exit status for the same inputs is checked in test/data-safety.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { summaryTable } from '../harness/cli/summary-table.js';
import { compareResults } from '../harness/compare/compare.js';
import { comparisonRows } from '../harness/compare/comparison-rows.js';
import { seededRandom } from '../harness/metrics/stats.js';
import { buildCharts } from '../harness/report/charts.js';
import { renderHtml } from '../harness/report/html.js';
import { renderMarkdown } from '../harness/report/markdown.js';
import { parseResultFile, ResultFileError } from '../harness/results/read-result.js';
import type { ResultFile } from '../harness/results/types.js';
import { parseScenario, ScenarioError } from '../harness/scenario/load.js';
import { backendIds } from '../implementations/registry.js';
import { nanomqAsync, tempDir } from './support/cli.js';

const fixture = readFileSync(new URL('./fixtures/small-result.json', import.meta.url), 'utf8');
const scenarioText = readFileSync(new URL('../scenarios/quick.yaml', import.meta.url), 'utf8');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const WRONG: Json[] = [null, 42, -1, 0, 1e308, '', 'x', '\r\n|', true, [], {}, [1, 'a'], { a: 1 }];

/** Every path into a JSON value (objects and arrays, and their members). */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) for (const [i, v] of value.entries()) paths(v, [...prefix, i], out);
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function mutate(root: Json, random: () => number, all: (string | number)[][]): { data: Json; what: string } {
  const data = structuredClone(root);
  const path = all[1 + Math.floor(random() * (all.length - 1))];
  let parent = data as Record<string | number, Json>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, Json>;
  const key = path.at(-1)!;
  if (random() < 0.2 && !Array.isArray(parent)) {
    delete parent[key];
    return { data, what: `deleted ${path.join('.')}` };
  }
  const value = WRONG[Math.floor(random() * WRONG.length)];
  parent[key] = value;
  return { data, what: `${path.join('.')} = ${JSON.stringify(value)}` };
}

describe('generated malformed result files', () => {
  it('are refused with one line or handled by every reader, for 1 000 of them', () => {
    const root = JSON.parse(fixture) as Json;
    const all = paths(root);
    const random = seededRandom(7);
    const good = parseResultFile(fixture, 'fixture.json');
    let refused = 0;
    const crashes: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const { data, what } = mutate(root, random, all);
      let result: ResultFile;
      try {
        result = parseResultFile(JSON.stringify(data), 'broken.json');
      } catch (error) {
        if (!(error instanceof ResultFileError)) crashes.push(`${what}: reader threw ${(error as Error).stack}`);
        else if ((error as Error).message.includes('\n') || !(error as Error).message.startsWith('broken.json'))
          crashes.push(`${what}: message not one line naming the file: ${(error as Error).message}`);
        refused++;
        continue;
      }
      try {
        const forward = compareResults(good, result, 5);
        const backward = compareResults(result, good, 5);
        comparisonRows(forward);
        comparisonRows(backward);
        renderMarkdown([result], [], forward);
        renderHtml([result], [], backward);
        buildCharts([result]);
        summaryTable(result);
      } catch (error) {
        crashes.push(`${what}: accepted, then ${(error as Error).stack?.split('\n').slice(0, 3).join(' / ')}`);
      }
    }
    expect(crashes.slice(0, 10)).toEqual([]);
    // Most random breakage must be caught at the door, where the message names the field.
    expect(refused).toBeGreaterThan(700);
  });
});

describe('generated malformed scenario files', () => {
  it('are refused with file:line:col messages, never an exception, for 1 000 of them', async () => {
    const { parse } = await import('yaml');
    const root = parse(scenarioText) as Json;
    const all = paths(root);
    const random = seededRandom(11);
    const crashes: string[] = [];
    let refused = 0;
    for (let i = 0; i < 1000; i++) {
      const { data, what } = mutate(root, random, all);
      let text = stringify(data);
      // Some are broken as text, not as data: cut short, or a tab where YAML wants spaces.
      if (i % 10 === 0) text = text.slice(0, Math.floor(random() * text.length));
      if (i % 10 === 1) text = text.replace(/\n {2}/, '\n\t');
      try {
        parseScenario(text, 'broken.yaml', backendIds());
      } catch (error) {
        if (!(error instanceof ScenarioError)) crashes.push(`${what}: threw ${(error as Error).stack}`);
        else if (!(error as Error).message.split('\n').every((line) => line.startsWith('broken.yaml'))) crashes.push(`${what}: ${(error as Error).message}`);
        refused++;
      }
    }
    expect(crashes.slice(0, 10)).toEqual([]);
    expect(refused).toBeGreaterThan(700);
  });
});

describe('generated malformed files through the CLI itself', () => {
  it('run, report and compare answer each with exit 2 and one line, or handle it (exit 0): never a stack trace', { timeout: 240_000 }, async () => {
    const { parse } = await import('yaml');
    const dir = tempDir();
    const resultRoot = JSON.parse(fixture) as Json;
    const resultPaths = paths(resultRoot);
    const scenarioRoot = parse(scenarioText) as Json;
    const scenarioPaths = paths(scenarioRoot);
    const random = seededRandom(23);
    const good = join(dir, 'good.json');
    writeFileSync(good, fixture);
    const outcomes: string[] = [];
    const calls: { i: number; args: string[] }[] = [];
    for (let i = 0; i < 15; i++) {
      const broken = join(dir, `r${i}.json`);
      writeFileSync(broken, JSON.stringify(mutate(resultRoot, random, resultPaths).data));
      const scenario = join(dir, `s${i}.yaml`);
      writeFileSync(scenario, stringify(mutate(scenarioRoot, random, scenarioPaths).data).replace(/^trials: .*$/m, 'trials: 1'));
      calls.push(
        { i, args: ['compare', good, broken] },
        { i, args: ['report', broken, '--out', join(dir, `out${i}`)] },
        // A scenario the breakage left valid would run: --backend null keeps that short.
        { i, args: ['run', scenario, '--out', join(dir, `runs${i}`), '--backend', 'null'] },
      );
    }
    // Two at a time: these check answers, not speed, and each is mostly Node starting up.
    const judge = async ({ i, args }: { i: number; args: string[] }) => {
      const r = await nanomqAsync(args);
      const lines = r.stderr.trim().split('\n').filter(Boolean);
      if (r.stderr.match(/\n\s+at /)) outcomes.push(`${args[0]} ${i}: stack trace: ${r.stderr.slice(0, 300)}`);
      else if (
        r.status === 2 &&
        !lines.every((l) => /^nanomq: |^[^\s].*\.(yaml|json)(:\d+:\d+)?: /.test(l) || l === 'invalid scenario:' || /^(--|\S+\.yaml)/.test(l))
      )
        outcomes.push(`${args[0]} ${i}: unclear message: ${r.stderr.slice(0, 300)}`);
      else if (r.status !== 2 && r.status !== 0) outcomes.push(`${args[0]} ${i}: exit ${r.status}: ${r.stderr.slice(0, 300)}`);
    };
    await Promise.all(
      [0, 1].map(async () => {
        for (let call = calls.shift(); call !== undefined; call = calls.shift()) await judge(call);
      }),
    );
    expect(outcomes).toEqual([]);
  });
});
