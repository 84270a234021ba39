/**
 * Starts servers as child processes for one suite and stops them after: the machinery every
 * backend with a server shares (the NanoMQ broker, nats-server, redis-server).
 *
 * - A server listens on an ephemeral loopback port: it picks it (port 0 or -1) and says which in
 *   a line of its output, which `ready` recognises; never a fixed port two runs could fight over.
 * - It is always stopped: `stop()` sends SIGTERM and, after `graceMs`, SIGKILL; and when the
 *   harness process exits for any reason, every server still running is killed with it.
 * - What it writes goes in a directory made for it under the system's temporary directory
 *   (`serverDirectory`), removed when it stops: nothing in the user's home or working folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from '../../network-contract.js';

export interface ServerCommand {
  command: string;
  args: string[];
  /** Reads what the harness needs (its address) out of one line of output; undefined until it is the ready line. */
  ready: (line: string) => string | undefined;
  /** Sees every line of output, before and after ready (a cluster node's route port, its routes). */
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How long it may take to say it is ready (default 15 s). */
  startTimeoutMs?: number;
  /** After SIGTERM, how long before SIGKILL (default 3 s). */
  graceMs?: number;
}

/** One started process: what its ready line said, and how to stop it. */
export interface ServerProcess {
  readonly ready: string;
  readonly pid: number;
  /** The last 4 KiB of its output, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export class ServerStartError extends Error {}

/** The prefix of every directory made for a server, so cleanup can never remove anything else. */
const DIRECTORY_PREFIX = 'nanomq-server-';

const running = new Set<ChildProcess>();
const directories = new Set<string>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory for a server's files (configuration, data), removed by `removeServerDirectory`. */
export function serverDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), DIRECTORY_PREFIX));
  directories.add(dir);
  return dir;
}

export function removeServerDirectory(dir: string): void {
  if (!directories.delete(dir)) return;
  rmSync(dir, { recursive: true, force: true });
}

export function startServerProcess(spec: ServerCommand): Promise<ServerProcess> {
  const child = spawn(spec.command, spec.args, { stdio: ['ignore', 'pipe', 'pipe'], env: spec.env ?? process.env, cwd: spec.cwd });
  running.add(child);
  let output = '';
  let partial = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), spec.graceMs ?? 3000);
    await exited;
    clearTimeout(killer);
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const give = (error: Error | null, ready?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        void stop();
        reject(error);
        return;
      }
      resolve({ ready: ready!, pid: child.pid!, output: () => output, stop });
    };
    const timer = setTimeout(
      () =>
        give(new ServerStartError(`${spec.command} did not say it was ready within ${(spec.startTimeoutMs ?? 15000) / 1000} s: ${output.trim().slice(-400)}`)),
      spec.startTimeoutMs ?? 15_000,
    );
    // Read on after it is ready (a server blocked on a full pipe would stall), keeping only the tail.
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-4096);
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        spec.onLine?.(line);
        if (settled) continue;
        const ready = spec.ready(line);
        if (ready !== undefined) give(null, ready);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (e) => give(new ServerStartError(`cannot start ${spec.command}: ${e.message}`)));
    child.once('exit', (code, signal) =>
      give(new ServerStartError(`${spec.command} exited (${signal ?? `code ${code}`}) before it was ready: ${output.trim().slice(-400)}`)),
    );
  });
}

/** Processes (one, or a cluster's nodes) and their directory, as one server the harness stops once. */
export function runningServer(parts: {
  url: string;
  token?: string;
  description: string;
  processes: readonly ServerProcess[];
  directory?: string;
}): RunningServer {
  let stopping: Promise<void> | undefined;
  return {
    url: parts.url,
    ...(parts.token !== undefined ? { token: parts.token } : {}),
    description: parts.description,
    pids: parts.processes.map((p) => p.pid),
    stop() {
      stopping ??= stopAll(parts.processes, parts.directory);
      return stopping;
    },
  };
}

/** Stops what was started when a later step of starting a server fails. */
export async function stopAll(processes: readonly ServerProcess[], directory?: string): Promise<void> {
  await Promise.all(processes.map((p) => p.stop()));
  if (directory !== undefined) removeServerDirectory(directory);
}
