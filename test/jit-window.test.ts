/**
 * The harness keeps the JIT and the garbage collector out of its own windows: every path a
 * measured loop runs inside the window is compiled during warm-up, nothing is deoptimised when
 * the window opens (or later in it), and the SharedArrayBuffer loops allocate nothing, so no collection lands in
 * the window.
 *
 * The run is the compiled CLI under `node --trace-opt --trace-deopt`, with NANOMQ_MARK_EDGES=1
 * so that MeasureWindow writes its edges into the same stream as V8's trace. Both failures this
 * catches were real: a window whose fields changed hidden class as it opened deoptimised both
 * loops there, and a rate schedule whose int32 product overflowed a second into the window
 * deoptimised the producer; each recompile ran the loop in the interpreter for 5–30 ms, which
 * was the rate case's p99. A third was the queue's: where the consumer outruns the producer,
 * the producer met a full ring for the first time only when the consumer was preempted, inside
 * the window, and claim's full-ring path was compiled there (Control.awaitFilled fixes it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultFile } from '../harness/results/types.js';

const cli = new URL('../dist/harness/cli/main.js', import.meta.url).pathname;

/** V8 trace lines that mean optimised code was thrown away. */
const DEOPT_EVENT = /^\[(bailout|marking dependent code)/;
/** A compile, keyed by its SharedFunctionInfo: per thread (each worker is its own isolate) and per function. */
const COMPILED = /^\[(?:compiling method|completed optimizing) [^<]*<JSFunction \S+ \(sfi = (0x[0-9a-f]+)\)/;

interface CaseTrace {
  id: string;
  /** Inside the window: deoptimisations, and recompiles of functions already optimised before it. */
  inside: string[];
}

/**
 * Splits the trace into cases (each begins with warm-up edges) and collects what fell inside
 * each window: from the first thread's window opening to the first closing. A function that
 * tiers up for the first time inside the window (a lukewarm helper, such as the wait strategy's
 * stall, reaching TurboFan's threshold only then) is allowed: it runs faster from then on and
 * nothing is thrown away. A deoptimisation, or a second compile of a function already optimised
 * before the window (the trace of a deopt and re-optimise cycle), is not.
 */
function jitEventsInWindows(stdout: string): CaseTrace[] {
  const cases: CaseTrace[] = [];
  let state: 'warm-up' | 'open' | 'closed' = 'closed';
  let optimisedBefore = new Set<string>();
  for (const line of stdout.split('\n')) {
    const edge = /^\[nanomq window (warm-up|open|close)\]$/.exec(line)?.[1];
    if (edge === 'warm-up' && state !== 'warm-up') {
      cases.push({ id: `case ${cases.length + 1}`, inside: [] });
      optimisedBefore = new Set();
      state = 'warm-up';
    } else if (edge === 'open' && state === 'warm-up') state = 'open';
    else if (edge === 'close') state = 'closed';
    else if (state === 'warm-up') {
      const name = line.startsWith('[completed optimizing') ? COMPILED.exec(line)?.[1] : undefined;
      if (name !== undefined) optimisedBefore.add(name);
    } else if (state === 'open') {
      const name = COMPILED.exec(line)?.[1];
      if (DEOPT_EVENT.test(line) || (name !== undefined && optimisedBefore.has(name))) cases.at(-1)!.inside.push(line.slice(0, 200));
    }
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
    // throughput at payload 0 and 64, with payload CRCs written and checked (verify: crc, the
    // stricter path). Warm-up is long enough for TurboFan to finish.
    // The ring's size matters to the rate case, whose producer never fills a healthy ring:
    // - 1 MiB (the default) fills in 16–29 ms at 500k msg/s, so a consumer preempted that long
    //   sends the producer down its full-ring path for the first time inside the window (seen
    //   once here): a real first, which warm-up cannot reach on purpose;
    // - 64 MiB takes ~1.8 s to lap, so the producer's first refresh of its cached head came
    //   inside the window (seen: claim deoptimised there);
    // - 4 MiB laps every ~0.1 s (refreshes warm by the window) and needs a ~0.1 s stall to fill.
    writeFileSync(
      join(dir, 'jit.yaml'),
      `name: jit
duration: 1s
warmup: 1s
capacity: 4MiB
verify: crc
matrix:
  backend: [sab-spsc]
  payload: [0, 64]
  batch: [1, 256]
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

  it('deoptimises and recompiles nothing between the window edges', () => {
    const cases = jitEventsInWindows(stdout);
    expect(cases.length).toBe(result.cases.length);
    for (const [i, c] of cases.entries()) expect(c.inside, result.cases[i].id).toEqual([]);
  });

  it('collects no garbage in the window: rate and throughput, payload 0 and 64', () => {
    expect(result.cases.length).toBe(8);
    for (const c of result.cases) {
      expect(c.status, c.id).toBe('ok');
      expect(c.summary!.gc, c.id).toEqual({ count: 0, pauseNs: 0 });
    }
  });
});
