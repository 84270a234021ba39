/**
 * The native backends: optional by design (a machine without a compiler runs everything else),
 * race-free under ThreadSanitizer, and measured through the same harness as every backend.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findBackend } from '../implementations/registry.js';
import { nanomq, root, tempDir, writeScenario } from './support/cli.js';

const native = findBackend('native')!;
const hasCompiler = spawnSync('g++', ['--version']).status === 0;

describe('native addon', () => {
  it.runIf(process.env.CI)('is built by npm ci in CI (so the native tests below cannot be skipped silently)', () => {
    expect(native.available()).toEqual({ available: true });
  });

  it('without the addon, list shows both native backends unavailable with the reason, and runs skip them', () => {
    const env = { ...process.env, NANOMQ_NATIVE_ADDON: '/nonexistent/nanomq_native.node' };
    const list = spawnSync(process.execPath, ['dist/harness/cli/main.js', 'list', '--json'], { cwd: root, env, encoding: 'utf8' });
    expect(list.status).toBe(0);
    const backends = (JSON.parse(list.stdout) as { backends: { id: string; available: boolean; reason: string }[] }).backends;
    for (const id of ['native', 'native-threads']) {
      const b = backends.find((x) => x.id === id)!;
      expect(b.available).toBe(false);
      expect(b.reason).toMatch(/native addon not built/);
    }
    expect(backends.find((x) => x.id === 'sab-spsc')!.available).toBe(true);

    const dir = tempDir();
    const file = writeScenario(
      dir,
      'n.yaml',
      'name: n\nduration: 100ms\nwarmup: 10ms\nmatrix:\n  backend: [native, sab-spsc]\nworkloads:\n  - kind: throughput\n',
    );
    const run = spawnSync(process.execPath, ['dist/harness/cli/main.js', 'run', file, '--out', dir, '--json'], { cwd: root, env, encoding: 'utf8' });
    expect(run.status).toBe(0);
    const cases = (JSON.parse(run.stdout) as { results: { cases: { id: string; status: string; reason?: string }[] }[] }).results[0].cases;
    expect(cases[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/backend unavailable: native addon not built/) });
    expect(cases[1].status).toBe('ok');
  });

  it('the install step succeeds (exit 0, with the reason) when the addon cannot be built', () => {
    const r = spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: root, env: { ...process.env, PATH: '/nonexistent' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/native addon not built/);
  });

  it.runIf(hasCompiler)('passes the ThreadSanitizer stress build (npm run test:native-sanitize)', () => {
    const r = spawnSync('bash', ['scripts/native-sanitize.sh', '100000'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    expect(r.stderr).not.toMatch(/ThreadSanitizer/);
    expect(r.stdout).toMatch(/seq_cst \(JS peer\): 100000 messages, 0 errors/);
    expect(r.stdout).toMatch(/release \(native only\): 100000 messages, 0 errors/);
    expect(r.status).toBe(0);
  });
});

describe.runIf(native.available().available)('native-threads through the harness', () => {
  it('runs throughput and ping-pong with verified delivery and a latency histogram; skips what it cannot serve', () => {
    const dir = tempDir();
    const file = writeScenario(
      dir,
      'nt.yaml',
      'name: nt\nduration: 300ms\nwarmup: 100ms\nmatrix:\n  backend: [native-threads]\n  batch: [1, 64]\n  wait: [spin, block]\nworkloads:\n  - kind: throughput\n  - kind: ping-pong\n  - kind: rate\n    rate: 10k\n',
    );
    const r = nanomq(['run', file, '--out', dir, '--json']);
    expect(r.status).toBe(0);
    const cases = (
      JSON.parse(r.stdout) as {
        results: { cases: { id: string; status: string; reason?: string; msgsPerSec?: number; latencyNs?: { count: number }; delivery: string }[] }[];
      }
    ).results[0].cases;
    const ran = cases.filter((c) => c.status === 'ok');
    expect(ran.map((c) => c.id).sort()).toEqual([
      'native-threads/ping-pong/payload=0/producers=1/batch=1/wait=spin',
      'native-threads/ping-pong/payload=0/producers=1/batch=64/wait=spin',
      'native-threads/throughput/payload=0/producers=1/batch=1/wait=spin',
      'native-threads/throughput/payload=0/producers=1/batch=64/wait=spin',
    ]);
    for (const c of ran) {
      expect(c.msgsPerSec).toBeGreaterThan(0);
      expect(c.latencyNs!.count).toBeGreaterThan(0);
      expect(c.delivery).toMatch(/^ok/);
    }
    expect(cases.find((c) => c.id.includes('wait=block'))!.reason).toMatch(/only busy-spins/);
    expect(cases.find((c) => c.id.includes('/rate/'))!.reason).toMatch(/runs only throughput and ping-pong/);
  });
});

describe.runIf(native.available().available)('pinning', () => {
  it("pin: true pins every backend's threads and the result records it", () => {
    const dir = tempDir();
    const file = writeScenario(
      dir,
      'pin.yaml',
      'name: pin\nduration: 200ms\nwarmup: 50ms\npin: true\nmatrix:\n  backend: [sab-spsc, native-threads]\n  batch: [16]\nworkloads:\n  - kind: throughput\n',
    );
    const r = nanomq(['run', file, '--out', dir]);
    expect(r.status).toBe(0);
    const result = JSON.parse(readFileSync(/result: (.+\.json)/.exec(r.stdout)![1], 'utf8')) as {
      cases: { id: string; pinned?: boolean; trials: { pinned?: boolean }[] }[];
    };
    for (const c of result.cases) {
      expect({ id: c.id, pinned: c.pinned }).toEqual({ id: c.id, pinned: true });
      expect(c.trials[0].pinned).toBe(true);
    }
  });
});
