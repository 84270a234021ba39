/**
 * Scenario files: every kind of bad input is an error naming the file, the line and the key;
 * good files expand into the cases the matrix describes.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError, type ScenarioProblem } from '../harness/scenario/load.js';
import { planCases } from '../harness/scenario/plan.js';
import { findBackend } from '../implementations/registry.js';

const KNOWN = ['sab-spsc', 'post-message'];
const FILE = 'scenarios/test.yaml';

const valid = `name: t
duration: 1s
warmup: 100ms
matrix:
  backend: [sab-spsc, post-message]
  payload: [0, 1KiB]
  batch: [1, 256]
workloads:
  - kind: throughput
  - kind: ping-pong
`;

function problemsOf(text: string): ScenarioProblem[] {
  try {
    parseScenario(text, FILE, KNOWN);
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as ScenarioError).problems;
  }
  throw new Error('expected the scenario to be rejected');
}

function expectProblem(text: string, line: number, key: string, message: RegExp): void {
  const problems = problemsOf(text);
  expect(problems).toContainEqual(expect.objectContaining({ file: FILE, line, key, message: expect.stringMatching(message) }));
  const formatted = new ScenarioError(problems).message;
  expect(formatted).toContain(`${FILE}:${line}:`);
  expect(formatted).toContain(key);
}

describe('scenario errors name the file, line and key', () => {
  it('a misspelt key, with a suggestion', () => {
    expectProblem(valid.replace('  payload:', '  paylod:'), 6, 'matrix.paylod', /unknown key \(did you mean "payload"\?\)/);
  });
  // The hints come from the schema itself: every key the loader accepts is suggested, in every
  // mapping, including those added after the first list of hints was written.
  it.each([
    ['durabilty: [none]', 'matrix.durabilty', 'durability'],
    ['producer: [1]', 'matrix.producer', 'producers'],
  ])('a misspelt matrix key %s is matched against the whole matrix', (line, key, meant) => {
    expectProblem(valid.replace('  batch: [1, 256]', `  batch: [1, 256]\n  ${line}`), 8, key, new RegExp(`did you mean "${meant}"`));
  });
  it.each([
    ['ordr: cases', 'ordr', 'order'],
    ['server: {}', 'server', 'servers'],
    ['verfy: crc', 'verfy', 'verify'],
  ])('a misspelt top-level key %s', (line, key, meant) => {
    expectProblem(`${valid}${line}\n`, 11, key, new RegExp(`did you mean "${meant}"`));
  });
  it('a misspelt slo key, with the server figures among the hints', () => {
    expectProblem(`${valid}slo:\n  server-rs: 100MB\n`, 12, 'slo.server-rs', /did you mean "server-rss"/);
    expectProblem(`${valid}slo:\n  colour: 1\n`, 12, 'slo.colour', /expected one of: p50, p99, p999, throughput, rss, cpu, server-cpu, server-rss\)/);
  });
  it("a workload's keys are its kind's", () => {
    const group = valid.replace('  - kind: ping-pong', '  - kind: consumer-group\n    members: 2\n    falt: kill-member');
    expectProblem(group, 12, 'workloads[1].falt', /did you mean "fault"/);
    const fanOut = valid.replace('  - kind: ping-pong', '  - kind: fan-out\n    subscribers: 2\n    colour: 1');
    expectProblem(fanOut, 12, 'workloads[1].colour', /expected one of: kind, subscribers\)/);
  });
  it('a misspelt server key', () => {
    const text = `${valid}servers:\n  nats:\n    nodez: 3\n`;
    expect(problemsOf(text).map((p) => p.message)).toContainEqual(expect.stringMatching(/did you mean "nodes"/));
  });
  it('an unknown top-level key', () => {
    expectProblem(`${valid}colour: blue\n`, 11, 'colour', /unknown key/);
  });
  it('a wrong type', () => {
    expectProblem(valid.replace('name: t', 'name: t\npin: maybe'), 2, 'pin', /expected boolean/);
  });
  it('a bad unit', () => {
    expectProblem(valid.replace('duration: 1s', 'duration: 1 fortnight'), 2, 'duration', /expected a duration like 2s/);
  });
  it('a bare number where a duration needs a unit', () => {
    expectProblem(valid.replace('duration: 1s', 'duration: 2'), 2, 'duration', /expected a duration/);
  });
  it('an unknown backend, at its position in the list', () => {
    expectProblem(valid.replace('[sab-spsc, post-message]', '[sab-spsc, ringbuf]'), 5, 'matrix.backend[1]', /unknown backend "ringbuf"/);
  });
  it('an unknown wait strategy', () => {
    expectProblem(valid.replace('  batch: [1, 256]', '  batch: [1, 256]\n  wait: [spin, nap]'), 8, 'matrix.wait[1]', /spin|park|block/);
  });
  it('a payload over 64 KiB', () => {
    expectProblem(valid.replace('[0, 1KiB]', '[0, 65537]'), 6, 'matrix.payload[1]', /0 to 65536/);
  });
  it('a missing required key', () => {
    const problems = problemsOf(valid.replace(/workloads:[\s\S]*/, ''));
    expect(problems).toContainEqual(expect.objectContaining({ key: 'workloads', message: 'is required', line: 1 }));
  });
  it('a rate workload without its rate', () => {
    expectProblem(valid.replace('  - kind: ping-pong', '  - kind: rate'), 10, 'workloads[1].rate', /.+/);
  });
  it('a YAML syntax error', () => {
    const problems = problemsOf(valid.replace('  batch: [1, 256]', '  batch: [1, 256'));
    expect(problems[0]).toMatchObject({ file: FILE, key: '' });
    expect(problems[0].line).toBeGreaterThanOrEqual(7);
    expect(problems[0].message).toMatch(/^YAML:/);
  });
  it('a duplicated key', () => {
    const problems = problemsOf(valid.replace('warmup: 100ms', 'warmup: 100ms\nwarmup: 200ms'));
    expect(problems[0]).toMatchObject({ line: 4 });
    expect(problems[0].message).toMatch(/unique/i);
  });
  it('a name with characters outside [a-z0-9-]', () => {
    expectProblem(valid.replace('name: t', 'name: Quick Run'), 1, 'name', /a-z0-9-/);
  });
});

describe('scenario loading and planning', () => {
  it('normalises units: durations in ns, sizes in bytes, rates per second', () => {
    const s = parseScenario(
      `${valid.replace('  - kind: ping-pong', '  - kind: rate\n    rate: 500k')}slo:\n  p99: 10us\n  rss: 100MiB\n  cpu: 30%\n`,
      FILE,
      KNOWN,
    );
    expect(s.duration).toBe(1e9);
    expect(s.warmup).toBe(1e8);
    expect(s.matrix.payload).toEqual([0, 1024]);
    expect(s.workloads[1]).toEqual({ kind: 'rate', rate: 500_000 });
    expect(s.slo).toEqual({ p99: 10_000, rss: 100 * 1024 * 1024, cpu: 30 });
    expect(s.trials).toBe(1);
    expect(s.matrix.wait).toEqual(['spin']);
  });

  it('expands the matrix into one case per combination and workload', () => {
    const cases = planCases(parseScenario(valid, FILE, KNOWN), findBackend, 2);
    expect(cases).toHaveLength(2 * 2 * 2 * 2);
    expect(cases[0].id).toBe('sab-spsc/throughput/payload=0/producers=1/batch=1/wait=spin');
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
  });

  it('skips, with a reason, what a backend cannot serve, and marks oversubscription', () => {
    const s = parseScenario(valid.replace('  batch: [1, 256]', '  producers: [1, 2]'), FILE, KNOWN);
    const cases = planCases(s, findBackend, 2);
    const spsc2 = cases.find((c) => c.id === 'sab-spsc/throughput/payload=0/producers=2/batch=1/wait=spin')!;
    expect(spsc2.skip).toMatch(/at most 1 producer/);
    const pingPong2 = cases.find((c) => c.id === 'post-message/ping-pong/payload=0/producers=2/batch=1/wait=spin')!;
    expect(pingPong2.skip).toMatch(/ping-pong/);
    const pm2 = cases.find((c) => c.id === 'post-message/throughput/payload=0/producers=2/batch=1/wait=spin')!;
    expect(pm2.skip).toBeUndefined();
    expect(pm2.oversubscribed).toBe(true);
    expect(cases.find((c) => c.id === 'post-message/throughput/payload=0/producers=1/batch=1/wait=spin')!.oversubscribed).toBe(false);
  });
});

describe('shipped scenarios', () => {
  it('every file in scenarios/ loads, validates and plans at least one runnable case', async () => {
    const { readdirSync } = await import('node:fs');
    const { loadScenarioFile } = await import('../harness/scenario/load.js');
    const { backendIds } = await import('../implementations/registry.js');
    const files = readdirSync('scenarios').filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['quick.yaml', 'contention.yaml', 'seed-targets.yaml']));
    for (const f of files) {
      const { scenario } = loadScenarioFile(`scenarios/${f}`, backendIds());
      const cases = planCases(scenario, findBackend, 2);
      expect(cases.filter((c) => !c.skip).length, f).toBeGreaterThan(0);
    }
  });
});
