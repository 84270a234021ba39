/**
 * Result files: a real (short) run produces a file matching docs/result-file.md's schema, written
 * atomically; figures a workload does not measure are absent.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseResultFile, ResultFileError, readResultFile } from '../harness/results/read-result.js';
import { writeNewResultFile } from '../harness/results/result-file-name.js';
import type { ResultFile } from '../harness/results/types.js';
import { tempDir } from './support/cli.js';
import { runScenarioText } from './support/scenarios.js';
import { synthCase, synthResult } from './support/synthetic-result.js';

const scenarioText = `name: result-test
duration: 300ms
warmup: 100ms
timeout: 20s
verify: crc
matrix:
  backend: [sab-spsc, post-message]
  payload: [64]
  producers: [1, 2]
  batch: [16]
workloads:
  - kind: throughput
  - kind: ping-pong
slo:
  throughput: 1k
  p99: 1s
`;

describe('result file', () => {
  let result: ResultFile;
  beforeAll(async () => {
    result = await runScenarioText(scenarioText, 'inline.yaml');
  });

  it('has the documented shape and survives a round trip through the reader', () => {
    const text = JSON.stringify(result);
    const back = parseResultFile(text, 'mem.json');
    expect(back.schema).toBe('nanomq.result/1');
    expect(back.scenario.name).toBe('result-test');
    expect(Object.keys(back.environment)).toEqual(
      expect.arrayContaining(['node', 'v8', 'os', 'cpuModel', 'cores', 'memoryBytes', 'gitCommit', 'startedAt', 'finishedAt', 'clock']),
    );
    expect(back.environment.clock.overheadNs).toBeGreaterThan(0);
  });

  it('records every planned case: ran, or skipped with its reason', () => {
    const ids = result.cases.map((c) => c.id);
    expect(ids).toContain('sab-spsc/throughput/payload=64/producers=1/batch=16/wait=spin');
    const skipped = result.cases.find((c) => c.id === 'sab-spsc/throughput/payload=64/producers=2/batch=16/wait=spin')!;
    expect(skipped.status).toBe('skipped');
    expect(skipped.reason).toMatch(/at most 1 producer/);
    expect(skipped.summary).toBeUndefined();
  });

  it('carries verified delivery, throughput, latency, CPU and memory for a case that ran', () => {
    const c = result.cases.find((x) => x.id === 'sab-spsc/throughput/payload=64/producers=1/batch=16/wait=spin')!;
    expect(c.status).toBe('ok');
    const s = c.summary!;
    expect(s.correctness).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, corrupt: 0 });
    expect(s.correctness!.sent).toBe(s.correctness!.received);
    expect(s.msgsPerSec).toBeGreaterThan(0);
    expect(s.bytesPerSec).toBeCloseTo(s.msgsPerSec! * 128, 0);
    expect(s.latencyNs!.count).toBeGreaterThan(0);
    expect(s.latencyNs!.histogram.length).toBeGreaterThan(10);
    expect(s.memory!.sharedBytes).toBeGreaterThan(1 << 20);
    // The verdicts must follow from the figures (throughput ≥ 1k, p99 ≤ 1 s), not merely exist.
    expect(s.slo).toEqual({ throughput: s.msgsPerSec! >= 1000 ? 'pass' : 'fail', p99: s.latencyNs!.p99! <= 1e9 ? 'pass' : 'fail' });
    expect(s.slo!.throughput).toBe('pass');
    expect(c.trials).toHaveLength(1);
    expect(c.trials[0].msgsPerSec).toBe(s.msgsPerSec);
    // One trial has no spread: no confidence interval rather than a fake one.
    expect(s.msgsPerSecCi95).toBeUndefined();
    // Throughput runs do not measure open-loop figures: absent, not zero.
    expect(s.rate).toBeUndefined();
    expect(s.serviceLatencyNs).toBeUndefined();
  });

  it('runs the many-producer post-message case and marks it oversubscribed on 2 cores', () => {
    const c = result.cases.find((x) => x.id === 'post-message/throughput/payload=64/producers=2/batch=16/wait=spin')!;
    expect(c.status).toBe('ok');
    expect(c.summary!.correctness!.lost).toBe(0);
    expect(c.oversubscribed).toBe(result.environment.cores < 3);
  });
});

describe('writing a result file', () => {
  it('leaves the whole new file and no temporary behind', () => {
    const dir = tempDir();
    const path = join(dir, 'sub', 'r.json');
    expect(writeNewResultFile(path, '{"a":1}')).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}');
    expect(readdirSync(join(dir, 'sub'))).toEqual(['r.json']);
  });

  it('keeps what stands in its place and removes the temporary, writing beside it instead', () => {
    const dir = tempDir();
    const path = join(dir, 'r.json');
    // A directory where the file should go: the link fails, the next free name is used.
    mkdirSync(path);
    writeFileSync(join(path, 'keep'), 'x');
    const written = writeNewResultFile(path, '{}');
    expect(written).not.toBe(path);
    expect(readdirSync(dir).sort()).toEqual(['r-n2.json', 'r.json']);
    expect(existsSync(join(path, 'keep'))).toBe(true);
  });

  it('never overwrites or removes a file that happens to have the temporary name', () => {
    const dir = tempDir();
    const path = join(dir, 'r.json');
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, 'not ours');
    expect(() => writeNewResultFile(path, '{}')).toThrow();
    expect(readFileSync(temporary, 'utf8')).toBe('not ours');
  });
});

describe('reading result files', () => {
  it('names the file and the problem for bad input', () => {
    expect(() => parseResultFile('not json', 'x.json')).toThrow(/x.json: not JSON/);
    expect(() => parseResultFile('{"schema":"other/1"}', 'y.json')).toThrow(/y.json: schema is "other\/1"/);
    expect(() => parseResultFile('{"schema":"nanomq.result/1","cases":[]}', 'z.json')).toThrow(ResultFileError);
    expect(() => readResultFile('/nonexistent/r.json')).toThrow(/cannot read \(ENOENT\)/);
  });

  it('holds each case to its status: an ok case has a summary, a failed or skipped one a reason', () => {
    const good = synthResult([synthCase('sab-spsc/throughput', [1e6])]);
    expect(parseResultFile(JSON.stringify(good), 'ok.json').cases[0].status).toBe('ok');
    const { summary: _dropped, ...unsummarised } = good.cases[0];
    expect(() => parseResultFile(JSON.stringify({ ...good, cases: [unsummarised] }), 'a.json')).toThrow(/a.json: cases.0.summary/);
    expect(() => parseResultFile(JSON.stringify({ ...good, cases: [{ ...good.cases[0], reason: 'but why' }] }), 'r.json')).toThrow(/r.json: cases.0.reason/);
    const failed = { ...unsummarised, status: 'failed' };
    expect(() => parseResultFile(JSON.stringify({ ...good, cases: [failed] }), 'b.json')).toThrow(/b.json: cases.0.reason/);
    expect(parseResultFile(JSON.stringify({ ...good, cases: [{ ...failed, reason: 'trial 1: lost 3' }] }), 'c.json').cases[0].reason).toBe('trial 1: lost 3');
  });
});
