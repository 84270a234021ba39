/**
 * Running the compiled CLI as a user does (`dist/harness/cli/main.js` in a child process):
 * its exit code and output, a scenario written to a fresh temporary folder, and that folder.
 * Tests of what the CLI prints, writes and refuses use this, not the harness's functions.
 */
import { spawn, spawnSync } from 'node:child_process';
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

/** The same, without blocking this process's event loop (for a server the test itself runs). */
export function nanomqAsync(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd ?? root, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // 'close', not 'exit': the process may have exited before its output was all read.
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A new folder of the test's own under the system's temporary folder (`nanomq-<purpose>-…`). */
export function tempDir(purpose = 'test'): string {
  return mkdtempSync(join(tmpdir(), `nanomq-${purpose}-`));
}

export function writeScenario(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
