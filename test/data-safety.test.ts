/**
 * A careless or hostile user must not be able to make nanomq delete, overwrite or lose data, nor
 * crash it with a stack trace. Every test runs the compiled CLI as a user would, and checks the
 * folders around the command's own output for anything created, changed or deleted.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareOutputFolder } from '../harness/cli/output-folder.js';
import { compareResults } from '../harness/compare/compare.js';
import { escapeMarkdown } from '../harness/report/escape.js';
import { freeResultPath, writeNewResultFile } from '../harness/results/result-file-name.js';
import { cli, nanomq, tempDir, writeScenario } from './support/cli.js';
import { synthCase, synthResult } from './support/synthetic-result.js';

const fixture = readFileSync(new URL('./fixtures/small-result.json', import.meta.url), 'utf8');

/** Every file under `dir` with its size and modification time: a fingerprint of the folder. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else out[path.slice(dir.length)] = `${st.size}:${st.mtimeMs}`;
    }
  };
  walk(dir);
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: the edits reach into arbitrary fields of a parsed fixture
function resultWith(edit: (r: Record<string, any>) => void): string {
  const r = JSON.parse(fixture);
  edit(r);
  return JSON.stringify(r);
}

/** Bad input: exit 2, one line on stderr, no stack trace. */
function expectBadInput(r: { status: number | null; stderr: string }, message: RegExp): void {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).toMatch(message);
  expect(r.status).toBe(2);
}

const tiny = `name: safety
duration: 100ms
warmup: 50ms
matrix:
  backend: [sab-spsc]
  batch: [32]
workloads:
  - kind: throughput
`;

describe('report never deletes what it did not write', () => {
  it('refuses a result whose scenario name would lead out of reports/ (../victim, empty, absolute)', () => {
    const home = tempDir();
    mkdirSync(join(home, 'victim'));
    writeFileSync(join(home, 'victim', 'thesis.tex'), 'years of work');
    mkdirSync(join(home, 'reports', 'sample'), { recursive: true });
    writeFileSync(join(home, 'reports', 'sample', 'index.html'), 'published');
    const before = snapshot(home);
    for (const name of ['../victim', '', '../../../tmp/x', '/tmp/x', '.', 'a/../../victim']) {
      const file = join(home, `bad-${Math.random()}.json`);
      writeFileSync(
        file,
        resultWith((r) => (r.scenario.name = name)),
      );
      const r = nanomq(['report', file], 60_000, { cwd: home });
      expectBadInput(r, /scenario\.name: must be a scenario name/);
    }
    const after = snapshot(home);
    for (const key of Object.keys(before)) expect(after[key]).toBe(before[key]);
  });

  it('refuses --out at a folder that holds other files, or at a file, and changes nothing there', () => {
    const home = tempDir();
    const results = join(home, 'results');
    mkdirSync(join(results, 'baselines'), { recursive: true });
    writeFileSync(join(results, 'baselines', 'quick.json'), 'curated');
    const plain = join(home, 'notes.txt');
    writeFileSync(plain, 'notes');
    const input = join(home, 'in.json');
    writeFileSync(input, fixture);
    const before = snapshot(home);
    expectBadInput(nanomq(['report', input, '--out', results]), /--out .*not empty and holds no report/);
    expectBadInput(nanomq(['report', input, '--out', plain]), /--out .*is a file/);
    expect(snapshot(home)).toEqual(before);
  });

  it('rewrites its own report in place, replacing only the files it wrote, and keeps the user’s', { timeout: 120_000 }, () => {
    const home = tempDir();
    const input = join(home, 'in.json');
    writeFileSync(input, fixture);
    const out = join(home, 'report');
    expect(nanomq(['report', input, '--out', out]).status).toBe(0);
    writeFileSync(join(out, 'my-notes.md'), 'mine');
    writeFileSync(join(out, 'charts', 'my-figure.png'), 'mine too');
    const manifest = JSON.parse(readFileSync(join(out, '.nanomq-report'), 'utf8')) as { files: string[] };
    expect(manifest.files).toContain('index.html');
    expect(manifest.files).not.toContain('my-notes.md');
    expect(nanomq(['report', input, '--out', out]).status).toBe(0);
    expect(readFileSync(join(out, 'my-notes.md'), 'utf8')).toBe('mine');
    expect(readFileSync(join(out, 'charts', 'my-figure.png'), 'utf8')).toBe('mine too');
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  });

  it('never writes through a symbolic link standing where a report file goes', () => {
    const home = tempDir();
    const input = join(home, 'in.json');
    writeFileSync(input, fixture);
    const out = join(home, 'report');
    expect(nanomq(['report', input, '--out', out]).status).toBe(0);
    // Someone swaps a file the report wrote (and will write again) for a link to theirs.
    writeFileSync(join(home, 'precious.md'), 'keep');
    rmSync(join(out, 'report.md'));
    symlinkSync(join(home, 'precious.md'), join(out, 'report.md'));
    const before = readFileSync(join(out, 'index.html'), 'utf8');
    const r = nanomq(['report', input, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/report\.md: is a symbolic link where the report writes; nothing was changed/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(home, 'precious.md'), 'utf8')).toBe('keep');
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toBe(before);
  });

  it('refuses a linked charts folder before it removes or writes anything', () => {
    const home = tempDir();
    const input = join(home, 'in.json');
    writeFileSync(input, fixture);
    const out = join(home, 'report');
    expect(nanomq(['report', input, '--out', out]).status).toBe(0);
    mkdirSync(join(home, 'elsewhere'));
    writeFileSync(join(home, 'elsewhere', 'keep.txt'), 'keep');
    rmSync(join(out, 'charts'), { recursive: true });
    symlinkSync(join(home, 'elsewhere'), join(out, 'charts'));
    const before = readFileSync(join(out, 'index.html'), 'utf8');
    const r = nanomq(['report', input, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/charts: is a symbolic link where the report writes; nothing was changed/);
    expect(readdirSync(join(home, 'elsewhere'))).toEqual(['keep.txt']);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toBe(before);
  });

  it('run --report refuses a link in the report folder before it runs anything', () => {
    const home = tempDir();
    const scenario = writeScenario(home, 'tiny.yaml', tiny);
    const out = join(home, 'reports', 'safety');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, '.nanomq-report'), JSON.stringify({ files: [] }));
    writeFileSync(join(home, 'precious.md'), 'keep');
    symlinkSync(join(home, 'precious.md'), join(out, 'report.md'));
    const started = Date.now();
    const r = nanomq(['run', scenario, '--out', home, '--report'], 60_000, { cwd: home });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/report\.md: is a symbolic link/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readFileSync(join(home, 'precious.md'), 'utf8')).toBe('keep');
  });

  it('refuses a hand-edited manifest that names files outside the folder, by .. or through a link', () => {
    const home = tempDir();
    const out = join(home, 'report');
    mkdirSync(out);
    writeFileSync(join(home, 'precious.txt'), 'keep');
    mkdirSync(join(home, 'elsewhere'));
    writeFileSync(join(home, 'elsewhere', 'x.txt'), 'keep too');
    symlinkSync(join(home, 'elsewhere'), join(out, 'link'));
    mkdirSync(join(out, 'mine'));
    writeFileSync(join(out, 'mine', 'notes.md'), 'mine');
    writeFileSync(join(out, '.nanomq-report'), JSON.stringify({ files: ['../precious.txt', '/etc/hostname', 'link/x.txt', 'mine'] }));
    const input = join(home, 'in.json');
    writeFileSync(input, fixture);
    const r = nanomq(['report', input, '--out', out]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(home, 'precious.txt'), 'utf8')).toBe('keep');
    expect(readFileSync(join(home, 'elsewhere', 'x.txt'), 'utf8')).toBe('keep too');
    expect(readFileSync(join(out, 'mine', 'notes.md'), 'utf8')).toBe('mine');
  });
});

describe('run checks where its output goes before it spends any machine time', () => {
  it('refuses --out at a file, at /dev/null, under /proc, or with a name too long, at once', () => {
    const home = tempDir();
    const scenario = writeScenario(home, 'tiny.yaml', tiny);
    const file = join(home, 'a-file');
    writeFileSync(file, 'x');
    const cases: [string, RegExp][] = [
      [file, /--out .*a-file: (cannot create this folder|is not a folder)/],
      [join(file, 'below'), /--out .*cannot create this folder \(ENOTDIR\)/],
      ['/dev/null', /--out \/dev\/null: is under \/dev, a kernel file system/],
      ['/proc/self/x', /--out \/proc\/self\/x: is under \/proc/],
      [join(home, 'x'.repeat(300)), /--out .*cannot (create this folder|write a file here) \(ENAMETOOLONG\)/],
    ];
    for (const [out, message] of cases) {
      const started = Date.now();
      const r = nanomq(['run', scenario, '--out', out], 30_000);
      expectBadInput(r, message);
      // Refused before the environment probes and the first case, not after.
      expect(Date.now() - started).toBeLessThan(5_000);
    }
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('the write probe removes only the file it created', () => {
    const dir = tempDir();
    const stranger = join(dir, `.nanomq-write-probe.${process.pid}.probe`);
    writeFileSync(stranger, "not the tool's");
    expect(() => prepareOutputFolder(dir, '--out')).toThrow(/cannot write a file here \(EEXIST\)/);
    expect(readFileSync(stranger, 'utf8')).toBe("not the tool's");
    const clean = tempDir();
    prepareOutputFolder(clean, '--out');
    expect(readdirSync(clean)).toEqual([]);
  });

  it('gives two scenarios of one name in one call two result files', { timeout: 120_000 }, () => {
    const home = tempDir();
    const a = writeScenario(home, 'a.yaml', tiny);
    const b = writeScenario(home, 'b.yaml', tiny);
    const r = nanomq(['run', a, b, '--out', join(home, 'out'), '--json']);
    expect(r.status).toBe(0);
    const files = (JSON.parse(r.stdout) as { results: { file: string }[] }).results.map((x) => x.file);
    expect(new Set(files).size).toBe(2);
    expect(readdirSync(join(home, 'out')).filter((f) => f.endsWith('.json'))).toHaveLength(2);
    // Each file's time is its own scenario's: the second does not claim the first's.
    const [first, second] = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as { environment: { startedAt: string; finishedAt: string } });
    expect(Date.parse(second.environment.startedAt)).toBeGreaterThanOrEqual(Date.parse(first.environment.finishedAt));
  });

  it('never overwrites an existing result file, even one that appears after the name was chosen', () => {
    const dir = tempDir();
    const at = new Date('2026-01-01T00:00:00Z');
    const first = freeResultPath(dir, 'x', new Set(), at);
    writeFileSync(first, 'older run');
    const second = freeResultPath(dir, 'x', new Set(), at);
    expect(second).not.toBe(first);
    // A name chosen, then taken by another process before the write: the write moves aside.
    const taken = freeResultPath(dir, 'y', new Set(), at);
    writeFileSync(taken, 'other process');
    const written = writeNewResultFile(taken, '{}');
    expect(written).not.toBe(taken);
    expect(readFileSync(taken, 'utf8')).toBe('other process');
    expect(readFileSync(first, 'utf8')).toBe('older run');
  });
});

/** The forked trial processes still running, a moment after the run ended (pgrep's list). */
async function trialProcessesLeft(): Promise<string> {
  await new Promise((r) => setTimeout(r, 200));
  const ps = spawn('pgrep', ['-f', `${cli} _trial`]);
  return new Promise<string>((resolve) => {
    let text = '';
    ps.stdout.on('data', (d) => (text += d));
    ps.on('close', () => resolve(text.trim()));
  });
}

describe('signals: SIGTERM, SIGHUP and SIGINT keep what ran', () => {
  const slow = `name: interrupt
duration: 300ms
warmup: 100ms
fork: process
matrix:
  backend: [sab-spsc, mpsc-cas, mutex, post-message]
  batch: [1, 32]
workloads:
  - kind: throughput
`;

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['SIGINT', 130],
  ] as const)('%s: writes the result with the rest marked interrupted, exits %i, leaves no trial process', { timeout: 120_000 }, async (signal, code) => {
    const home = tempDir();
    const scenario = writeScenario(home, 'slow.yaml', slow);
    const child = spawn(process.execPath, [cli, 'run', scenario, '--out', home, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    // Signal once the first case has finished (progress lines come at each case's end), so one
    // case ran and the next is mid-trial in its forked process.
    const started = new Promise<void>((resolve) =>
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/\[1\/8\]/.test(stderr)) resolve();
      }),
    );
    await started;
    child.kill(signal);
    const status = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(status).toBe(code);
    const out = JSON.parse(stdout) as { results: { file: string; cases: { status: string; reason?: string }[] }[] };
    const states = out.results[0].cases.map((c) => (c.status === 'skipped' ? `interrupted:${c.reason}` : c.status));
    // What ran is kept as it was; everything from the case the signal hit on is interrupted
    // (never "failed": a killed trial process says nothing about the queue).
    const firstStopped = states.indexOf('interrupted:interrupted');
    expect(firstStopped).toBeGreaterThanOrEqual(1);
    expect(states.slice(0, firstStopped).every((s) => s === 'ok')).toBe(true);
    expect(states.slice(firstStopped).every((s) => s === 'interrupted:interrupted')).toBe(true);
    expect(firstStopped).toBeLessThanOrEqual(3);
    expect(existsSync(out.results[0].file)).toBe(true);
    // No forked trial process may be left running.
    expect(await trialProcessesLeft()).toBe('');
  });

  it('a second signal exits at once, saying what is not written, and leaves no trial process', { timeout: 60_000 }, async () => {
    const home = tempDir();
    const scenario = writeScenario(home, 'slow.yaml', slow);
    const child = spawn(process.execPath, [cli, 'run', scenario, '--out', home], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/\[1\/8\]/.test(stderr)) resolve();
      }),
    );
    // Two signals at once, before the first stop can finish (two of one kind could merge into
    // one while pending). Which one the process sees first is the kernel's choice (CI saw both
    // orders): the second is named, and its code is the exit status.
    child.kill('SIGINT');
    child.kill('SIGTERM');
    const status = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    const second = /second signal \((SIGINT|SIGTERM)\): exiting now, without the results of a scenario still running; result files written: none/.exec(stderr);
    expect(second, stderr).not.toBeNull();
    expect(stderr).toMatch(new RegExp(`${second![1] === 'SIGINT' ? 'SIGTERM' : 'SIGINT'}: stopping the running case`));
    expect(status).toBe(second![1] === 'SIGINT' ? 130 : 143);
    expect(readdirSync(home).filter((f) => f.endsWith('.json'))).toEqual([]);
    expect(await trialProcessesLeft()).toBe('');
  });
});

describe('the native addon path runs no JavaScript', () => {
  it('loads only an absolute path to a .node file, through dlopen, and checks what it loaded', () => {
    const home = tempDir();
    const marker = join(home, 'ran');
    const evil = join(home, 'evil.js');
    writeFileSync(evil, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'pwned')`);
    const json = join(home, 'addon.json');
    writeFileSync(json, '{}');
    const fake = join(home, 'fake.node');
    writeFileSync(fake, '{}');
    for (const [path, reason] of [
      [evil, /must be an absolute path to a \.node file/],
      [json, /must be an absolute path to a \.node file/],
      ['build/Release/nanomq_native.node', /must be an absolute path/],
      [fake, /failed to load/],
    ] as const) {
      const r = nanomq(['list', '--json'], 30_000, { env: { ...process.env, NANOMQ_NATIVE_ADDON: path } });
      expect(r.status).toBe(0);
      const native = (JSON.parse(r.stdout) as { backends: { id: string; available: boolean; reason?: string }[] }).backends.find((b) => b.id === 'native')!;
      expect(native.available).toBe(false);
      expect(native.reason).toMatch(reason);
    }
    expect(existsSync(marker)).toBe(false);
  });
});

describe('bad input is refused with exit 2 and one line, never a stack trace', () => {
  it('refuses result files that pass a loose schema but would crash the report', () => {
    const home = tempDir();
    // biome-ignore lint/suspicious/noExplicitAny: the edits reach into arbitrary fields of a parsed fixture
    const broken: [string, (r: Record<string, any>) => void, RegExp][] = [
      ['no-warnings', (r) => delete r.environment.warnings, /environment\.warnings/],
      ['description', (r) => (r.scenario.description = 42), /scenario\.description/],
      ['histogram', (r) => (r.cases[0].summary.latencyNs.histogram = 'not base64!'), /histogram: is not base64/],
      ['negative', (r) => (r.cases[0].summary.msgsPerSec = -5), /msgsPerSec/],
    ];
    for (const [name, edit, message] of broken) {
      const file = join(home, `${name}.json`);
      writeFileSync(file, resultWith(edit));
      expectBadInput(nanomq(['report', file, '--out', join(home, `out-${name}`)]), message);
      expectBadInput(nanomq(['compare', file, file]), message);
      expect(existsSync(join(home, `out-${name}`))).toBe(false);
    }
  });

  it('refuses scenario files: a YAML bomb, capacity out of range, duplicate values, a timeout shorter than a trial', () => {
    const home = tempDir();
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++)
      laughs.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const files: [string, string, RegExp][] = [
      ['bomb.yaml', `${laughs.join('\n')}\nname: bomb\n`, /bomb\.yaml:1:1: YAML: .*alias/i],
      ['huge.yaml', tiny.replace('matrix:', 'capacity: 100GiB\nmatrix:'), /capacity: must be from 1KiB to 1GiB/],
      ['tiny-cap.yaml', tiny.replace('matrix:', 'capacity: 1\nmatrix:'), /capacity: must be from 1KiB to 1GiB/],
      ['dup.yaml', tiny.replace('backend: [sab-spsc]', 'backend: [null, null]'), /matrix\.backend: lists "null" twice/],
      ['dup-size.yaml', tiny.replace('batch: [32]', 'batch: [32]\n  payload: [0, 0B]'), /matrix\.payload: lists 0 twice/],
      ['short.yaml', tiny.replace('matrix:', 'timeout: 100ms\nmatrix:'), /timeout: must be longer than warmup \+ duration/],
    ];
    for (const [name, text, message] of files) {
      const file = writeScenario(home, name, text);
      expectBadInput(nanomq(['run', file, '--out', join(home, 'out')]), message);
    }
    expect(existsSync(join(home, 'out'))).toBe(false);
  });

  it('refuses flags that select nothing or have no bound', () => {
    const home = tempDir();
    const scenario = writeScenario(home, 'tiny.yaml', tiny);
    expectBadInput(nanomq(['run', scenario, '--backend', 'mutex', '--out', home]), /--backend mutex: selects no case of/);
    expectBadInput(nanomq(['run', scenario, '--trials', '1001', '--out', home]), /--trials: expected a whole number from 1 to 1000/);
    const result = join(home, 'r.json');
    writeFileSync(result, fixture);
    expectBadInput(nanomq(['compare', result, result, '--threshold', '']), /--threshold: expected a percentage/);
  });

  it('skips, with the reason, a consumer stall that native-threads cannot honour', () => {
    const home = tempDir();
    const scenario = writeScenario(
      home,
      'stall.yaml',
      tiny.replace('[sab-spsc]', '[native-threads]').replace('matrix:', 'stall: { every: 1000, duration: 1ms }\nmatrix:'),
    );
    const r = nanomq(['run', scenario, '--out', home, '--json']);
    expect(r.status).toBe(0);
    const c = (JSON.parse(r.stdout) as { results: { cases: { status: string; reason: string }[] }[] }).results[0].cases[0];
    expect(c.status).toBe('skipped');
    expect(c.reason).toMatch(/native-threads.*(cannot inject the consumer stall|unavailable)/);
  });

  it('keeps Markdown tables whole with \\r or \\n in ids and reasons, and compares no zero or negative figure', () => {
    expect(escapeMarkdown('a\r|b\nc\r\nd')).toBe('a \\|b c d');
    const base = synthResult([synthCase('sab-spsc/throughput/x', [0, 0, 0])]);
    const cand = synthResult([synthCase('sab-spsc/throughput/x', [-1, 5, 0])]);
    const text = JSON.stringify(compareResults(base, cand, 5));
    expect(text).not.toMatch(/Infinity|NaN|null,"ratio"/);
  });
});
