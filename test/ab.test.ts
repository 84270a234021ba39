/**
 * `nanomq ab A B scenario.yaml` (harness/compare/ab-run.ts): bad input refused before anything
 * runs; each trial run by its own side's build, in alternating order; both sides' files written
 * with what ran, a signal included, whole pairs only; B compared against A.
 *
 * The sides here are fake builds (a `dist/harness/cli/main.js` that answers `--version` and
 * `_trial` with a failed trial naming its side, and logs when it starts and ends), so which
 * build ran which trial, and in what order, is read off rather than inferred from timings. One
 * test runs the real build on both sides. That a slowed B makes ab exit 4 is the mutant
 * `gate-ab-mpsc-commit-delay` (test/gate-real.test.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResultFile } from '../harness/results/types.js';
import { cli, nanomq, root, tempDir, writeScenario } from './support/cli.js';

const tiny = `name: ab-tiny
duration: 100ms
warmup: 50ms
timeout: 20s
verify: sequence
matrix:
  backend: [sab-spsc, mpsc-cas]
  payload: [0]
  producers: [1]
  batch: [256]
  wait: [spin]
workloads:
  - kind: throughput
`;
const CASES = ['sab-spsc', 'mpsc-cas'].map((b) => `${b}/throughput/payload=0/producers=1/batch=256/wait=spin`);

/**
 * A fake build of side `side`: each `_trial` appends `start|end SIDE CASE TRIAL PID` to `log`
 * and answers a failed trial naming its side; with `sleepAt`, the trial of that case and round
 * sleeps 30 s before it ends (a trial the test interrupts).
 */
function fakeBuild(home: string, side: 'A' | 'B', log: string, sleepAt?: { case: string; trial: number }): string {
  const dir = join(home, `fake-${side}`);
  mkdirSync(join(dir, 'dist', 'harness', 'cli'), { recursive: true });
  writeFileSync(
    join(dir, 'dist', 'harness', 'cli', 'main.js'),
    `const fs = require('node:fs');
if (process.argv.includes('--version')) { console.log('0.1.0'); process.exit(0); }
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const request = JSON.parse(input);
  const line = (what) => fs.appendFileSync(${JSON.stringify(log)}, what + ' ${side} ' + request.planned.id + ' ' + request.trial + ' ' + process.pid + '\\n');
  line('start');
  const sleep = ${JSON.stringify(sleepAt ?? null)};
  const ms = sleep && sleep.case === request.planned.id && sleep.trial === request.trial ? 30000 : 0;
  setTimeout(() => {
    line('end');
    process.stdout.write(JSON.stringify({ trial: request.trial, status: 'failed', reason: 'fake build ${side}' }));
  }, ms);
});
`,
  );
  return dir;
}

function logLines(log: string): string[][] {
  return readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '));
}

function sides(dir: string): [ResultFile, ResultFile] {
  const read = (side: string) => {
    const name = readdirSync(dir).find((f) => f.startsWith(`ab-tiny-${side}-`) && f.endsWith('.json'));
    expect(name, `no ${side} file in ${readdirSync(dir).join(', ')}`).toBeDefined();
    return JSON.parse(readFileSync(join(dir, name!), 'utf8')) as ResultFile;
  };
  return [read('a'), read('b')];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('nanomq ab', () => {
  it('refuses bad input before running anything or making a file (exit 2), naming the argument or flag', () => {
    const dir = tempDir();
    const scenario = writeScenario(dir, 'tiny.yaml', tiny);
    const out = join(dir, 'out');
    const refused = (args: string[], message: RegExp) => {
      const r = nanomq(['ab', ...args, '--out', out]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    };
    refused([join(dir, 'nowhere'), root, scenario], /^nanomq: A .*nowhere: no such folder/m);
    refused([root, dir, scenario], /^nanomq: B .*: not a built checkout of nanomq \(no dist\/harness\/cli\/main\.js/m);
    const broken = join(dir, 'broken');
    mkdirSync(join(broken, 'dist', 'harness', 'cli'), { recursive: true });
    writeFileSync(join(broken, 'dist', 'harness', 'cli', 'main.js'), 'process.exit(3);\n');
    refused([root, broken, scenario], /^nanomq: B .*broken: its dist\/harness\/cli\/main\.js does not answer --version/m);
    refused([root, root, writeScenario(dir, 'net.yaml', tiny.replace('[sab-spsc, mpsc-cas]', '[broker]'))], /net\.yaml: no case ab can run \(network backends/);
    refused([root, root, writeScenario(dir, 'bad.yaml', tiny.replace('batch:', 'bacth:'))], /^nanomq: invalid scenario:\n.*bad\.yaml:\d+:\d+: matrix\.bacth/m);
    for (const trials of ['0', '5', '3', 'x']) refused([root, root, scenario, '--trials', trials], /^nanomq: --trials/m);
    refused([root, root, scenario, '--backend', 'nope'], /^nanomq: --backend: unknown backend "nope"/m);
    // Nothing was created: every check comes before the output folder.
    expect(readdirSync(dir).sort()).toEqual(['bad.yaml', 'broken', 'net.yaml', 'tiny.yaml']);
  });

  it("runs each trial with its own side's build, A B then B A, and writes each side's trials to its own file", { timeout: 60_000 }, () => {
    const home = tempDir();
    const log = join(home, 'trials.log');
    const [a, b] = [fakeBuild(home, 'A', log), fakeBuild(home, 'B', log)];
    const out = join(home, 'out');
    const run = nanomq(['ab', a, b, writeScenario(home, 'tiny.yaml', tiny), '--trials', '6', '--out', out], 60_000);
    // Every trial failed (the fakes say so): exit 1, and nothing compared.
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(
      /^ab: 2 case\(s\) × 6 trials on each of A \(.*fake-A: nanomq 0\.1\.0, not a git checkout\) and B \(.*fake-B: nanomq 0\.1\.0, not a git checkout\), alternating/m,
    );
    expect(run.stderr).toMatch(/^ {2}sab-spsc\/.*: A failed \(fake build A\), B failed \(fake build B\)$/m);
    // The order the builds ran in: per case and round, A first when round + case is even.
    const starts = logLines(log).filter((l) => l[0] === 'start');
    const expected: string[] = [];
    for (let round = 0; round < 6; round++)
      for (const [index, id] of CASES.entries())
        for (const side of (round + index) % 2 === 0 ? ['A', 'B'] : ['B', 'A']) expected.push(`${side} ${id} ${round}`);
    expect(starts.map((l) => `${l[1]} ${l[2]} ${l[3]}`)).toEqual(expected);
    const [fileA, fileB] = sides(out);
    expect(fileA.ab).toEqual({ side: 'a', build: a, other: b });
    expect(fileB.ab).toEqual({ side: 'b', build: b, other: a });
    for (const [file, side] of [
      [fileA, 'A'],
      [fileB, 'B'],
    ] as const) {
      expect(file.cases.map((c) => c.id)).toEqual(CASES);
      for (const c of file.cases) {
        expect(c.trials.map((t) => t.trial)).toEqual([0, 1, 2, 3, 4, 5]);
        expect(new Set(c.trials.map((t) => t.reason))).toEqual(new Set([`fake build ${side}`]));
      }
    }
  });

  it('a signal in the second half of a pair drops that pair whole, kills its trial, writes both files, exits 130', { timeout: 60_000 }, async () => {
    const home = tempDir();
    const log = join(home, 'trials.log');
    // Round 1 of the second case runs A then B: B's trial there hangs until the signal.
    const a = fakeBuild(home, 'A', log);
    const b = fakeBuild(home, 'B', log, { case: CASES[1], trial: 1 });
    const out = join(home, 'out');
    const child = spawn(process.execPath, [cli, 'ab', a, b, writeScenario(home, 'tiny.yaml', tiny), '--trials', '6', '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    let hanging: string[] | undefined;
    for (let waited = 0; hanging === undefined && waited < 30_000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        hanging = logLines(log).find((l) => l[0] === 'start' && l[1] === 'B' && l[2] === CASES[1] && l[3] === '1');
      } catch {}
      // The command must not end on its own before the hanging trial.
      expect(child.exitCode, stderr).toBeNull();
    }
    expect(hanging, `the hanging trial never started:\n${stderr}`).toBeDefined();
    child.kill('SIGINT');
    expect(await closed, stderr).toBe(130);
    expect(stderr).toMatch(/SIGINT: stopping the running trial, then writing the pairs that ran/);
    expect(alive(Number(hanging![4])), 'the interrupted trial process is still running').toBe(false);
    // A's half of the cut pair ran; it is not kept.
    expect(logLines(log).some((l) => l.join(' ').startsWith(`end A ${CASES[1]} 1 `))).toBe(true);
    const [fileA, fileB] = sides(out);
    expect(fileA.cases.map((c) => c.trials.length)).toEqual([2, 1]);
    expect(fileB.cases.map((c) => c.trials.length)).toEqual([2, 1]);
    for (const file of [fileA, fileB]) expect(file.cases.map((c) => `${c.status}: ${c.reason}`)).toEqual(['skipped: interrupted', 'skipped: interrupted']);
  });

  it("a build's _trial refuses a request of another protocol (another build's idea of a trial) with a failed trial saying why", () => {
    const r = spawnSync(process.execPath, [cli, '_trial'], { input: JSON.stringify({ protocol: 0, trial: 3, planned: {}, scenario: {} }), encoding: 'utf8' });
    expect(r.status).toBe(0);
    const answer = JSON.parse(r.stdout) as { trial: number; status: string; reason: string };
    expect(answer).toMatchObject({ trial: 3, status: 'failed' });
    expect(answer.reason).toMatch(/^this build runs trial requests of protocol 1, and was sent one of protocol 0/);
  });

  it('on the real build, both files are valid results and compare reads them to the verdict ab printed', { timeout: 120_000 }, () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const run = nanomq(['ab', root, root, writeScenario(dir, 'tiny.yaml', tiny), '--backend', 'sab-spsc', '--trials', '6', '--out', out], 120_000);
    // Same code on both sides: no case fails; the verdict is the statistics' (a false alarm
    // is possible, rarely), so only that one was given is checked here.
    expect([0, 4, 5], run.stderr).toContain(run.status);
    const verdict = run.stdout.split('\n').find((l) => l.startsWith('verdict:'));
    expect(verdict, run.stdout).toBeDefined();
    const [a, b] = sides(out);
    for (const r of [a, b]) {
      expect(r.cases).toHaveLength(1);
      expect(r.cases[0].status).toBe('ok');
      expect(r.cases[0].trials).toHaveLength(6);
      expect(r.scenario.fork).toBe('process');
      expect(new Set(r.cases[0].trials.map((t) => t.pid)).size).toBe(6);
    }
    const files = ['a', 'b'].map((s) => join(out, readdirSync(out).find((f) => f.startsWith(`ab-tiny-${s}-`))!));
    const again = nanomq(['compare', ...files]);
    expect(again.stdout.split('\n').find((l) => l.startsWith('verdict:'))).toBe(verdict);
  });
});
