/**
 * The harness keeps the JIT and the garbage collector out of its own windows: every path a
 * measured loop runs inside the window is compiled during warm-up, nothing is deoptimised when
 * the window opens, and the SharedArrayBuffer loops allocate nothing, so no collection lands in
 * the window.
 *
 * The run is the compiled CLI under `node --trace-opt --trace-deopt`, with NANOMQ_MARK_EDGES=1
 * so that MeasureWindow writes its edges into the same stream as V8's trace. Both failures this
 * catches were real: a window whose fields changed hidden class as it opened deoptimised both
 * loops there, and a rate schedule whose int32 product overflowed a second into the window
 * deoptimised the producer; each recompile ran the loop in the interpreter for 5–30 ms, which
 * was the rate case's p99.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultFile } from '../harness/results/types.js';

const cli = new URL('../dist/harness/cli/main.js', import.meta.url).pathname;

/** V8 trace lines that mean code was compiled or thrown away. */
const JIT_EVENT = /^\[(bailout|compiling method|marking dependent code|completed optimizing)/;

interface CaseTrace {
  id: string;
  /** JIT events between the first thread's window opening and the first closing. */
  inside: string[];
}

/** Splits the trace into cases (each begins with warm-up edges) and collects what fell inside each window. */
function jitEventsInWindows(stdout: string): CaseTrace[] {
  const cases: CaseTrace[] = [];
  let state: 'warm-up' | 'open' | 'closed' = 'closed';
  for (const line of stdout.split('\n')) {
    const edge = /^\[nanomq window (warm-up|open|close)\]$/.exec(line)?.[1];
    if (edge === 'warm-up' && state !== 'warm-up') {
      cases.push({ id: `case ${cases.length + 1}`, inside: [] });
      state = 'warm-up';
    } else if (edge === 'open' && state === 'warm-up') state = 'open';
    else if (edge === 'close') state = 'closed';
    else if (state === 'open' && JIT_EVENT.test(line)) cases.at(-1)!.inside.push(line.slice(0, 200));
  }
  return cases;
}

describe('nothing is compiled, deoptimised or collected inside a SharedArrayBuffer window', () => {
  let dir: string;
  let stdout: string;
  let result: ResultFile;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nanomq-jit-'));
    // Rate at 500k msg/s one message at a time (the case whose tail this fixed), and closed-loop
    // throughput at payload 0 and 64. Warm-up is long enough for TurboFan to finish.
    writeFileSync(
      join(dir, 'jit.yaml'),
      `name: jit
duration: 1s
warmup: 1s
matrix:
  backend: [sab-spsc]
  payload: [0, 64]
  batch: [1]
  wait: [spin]
workloads:
  - kind: rate
    rate: 500k
  - kind: throughput
`,
    );
    const r = spawnSync(process.execPath, ['--trace-opt', '--trace-deopt', cli, 'run', join(dir, 'jit.yaml'), '--out', dir], {
      encoding: 'utf8',
      env: { ...process.env, NANOMQ_MARK_EDGES: '1' },
      maxBuffer: 256 * 1024 * 1024,
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    stdout = r.stdout;
    const file = readdirSync(dir).find((f) => f.endsWith('.json'))!;
    result = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ResultFile;
  }, 150_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles and deoptimises nothing between the window edges', () => {
    const cases = jitEventsInWindows(stdout);
    expect(cases.length).toBe(result.cases.length);
    for (const c of cases) expect(c.inside, c.id).toEqual([]);
  });

  it('collects no garbage in the window: rate and throughput, payload 0 and 64', () => {
    expect(result.cases.length).toBe(4);
    for (const c of result.cases) {
      expect(c.status, c.id).toBe('ok');
      expect(c.summary!.gc, c.id).toEqual({ count: 0, pauseNs: 0 });
    }
  });
});
