import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const cli = join(root, 'dist', 'harness', 'cli', 'main.js');

export interface CliOutcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI as a user would; stdin closed, not a terminal. */
export function nanomq(args: string[], timeoutMs = 120_000, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliOutcome {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: options.cwd ?? root, encoding: 'utf8', timeout: timeoutMs, env: options.env ?? process.env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'nanomq-test-'));
}

export function writeScenario(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
