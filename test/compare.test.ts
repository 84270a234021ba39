/** compare: verdicts on synthetic results, and the CLI's exit codes on real files. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareResults } from '../harness/compare/compare.js';
import { nanomq, tempDir } from './support/cli.js';
import { synthCase, synthResult } from './support/synthetic-result.js';

const ID = 'sab-spsc/throughput/payload=0/producers=1/batch=1/wait=spin';

describe('compare verdicts', () => {
  it('identical results: no significant change', () => {
    const r = synthResult([synthCase(ID, [100, 102, 98, 101, 99])]);
    const c = compareResults(r, r);
    expect(c.cases[0].metrics.map((m) => m.verdict)).toEqual(['no significant change', 'no significant change']);
    expect(c.regressions).toBe(0);
  });

  it('20% slower with tight intervals: a regression', () => {
    const base = synthResult([synthCase(ID, [100, 101, 99, 100, 102])]);
    const cand = synthResult([synthCase(ID, [80, 81, 79, 80, 80])]);
    const c = compareResults(base, cand, 5);
    const m = c.cases[0].metrics.find((x) => x.metric === 'msgsPerSec')!;
    expect(m.verdict).toBe('slower');
    expect(m.ratio).toBeCloseTo(0.8, 2);
    expect(m.ratioCi95![1]).toBeLessThan(0.95);
    expect(c.regressions).toBe(1);
  });

  it('overlapping noisy trials: no significant change, even with a lower median', () => {
    const base = synthResult([synthCase(ID, [100, 60, 140, 90, 120])]);
    const cand = synthResult([synthCase(ID, [92, 55, 135, 80, 125])]);
    const m = compareResults(base, cand, 5).cases[0].metrics.find((x) => x.metric === 'msgsPerSec')!;
    expect(m.ratio).toBeLessThan(1);
    expect(m.verdict).toBe('no significant change');
  });

  it('p99 counts the other way: higher latency is slower', () => {
    const base = synthResult([synthCase(ID, [100, 100, 100], [1000, 1010, 990])]);
    const cand = synthResult([synthCase(ID, [100, 100, 100], [2000, 2020, 1980])]);
    expect(compareResults(base, cand).cases[0].metrics.find((x) => x.metric === 'p99')!.verdict).toBe('slower');
  });

  it('lists cases present on one side only', () => {
    const base = synthResult([synthCase(ID, [1, 1]), synthCase('mutex/throughput/x', [1, 1])]);
    const cand = synthResult([synthCase(ID, [1, 1]), synthCase('mpsc-cas/throughput/y', [1, 1])]);
    const c = compareResults(base, cand);
    expect(c.onlyInBaseline).toEqual(['mutex/throughput/x']);
    expect(c.onlyInCandidate).toEqual(['mpsc-cas/throughput/y']);
  });
});

describe('nanomq compare', () => {
  const dir = tempDir();
  const write = (name: string, value: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
    return path;
  };
  const base = write('base.json', synthResult([synthCase(ID, [1e6])]));
  const halved = write('half.json', synthResult([synthCase(ID, [5e5])]));

  it('exits 0 for a file against itself', () => {
    const r = nanomq(['compare', base, base]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no significant change/);
  });

  it('exits 4 for a candidate with halved throughput, and says so', () => {
    const r = nanomq(['compare', base, halved]);
    expect(r.status).toBe(4);
    expect(r.stdout).toMatch(/SLOWER/);
    const json = nanomq(['compare', base, halved, '--json']);
    expect(JSON.parse(json.stdout).regressions).toBe(1);
  });

  it('exits 2 for an unreadable file, another schema, or a bad threshold', () => {
    expect(nanomq(['compare', base, join(dir, 'missing.json')]).status).toBe(2);
    const other = write('other.json', { schema: 'something/2' });
    const r = nanomq(['compare', base, other]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/other.json: schema is "something\/2"/);
    expect(nanomq(['compare', base, base, '--threshold', 'lots']).status).toBe(2);
  });
});
