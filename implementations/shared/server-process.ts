/**
 * Starts a server as a child process for one suite and stops it after: the machinery every
 * backend with a server shares (the NanoMQ broker, nats-server, redis-server).
 *
 * - It listens on an ephemeral loopback port: the server picks it (port 0) and says which in a
 *   line on its output, which `ready` recognises; never a fixed port two runs could fight over.
 * - It is always stopped: `stop()` sends SIGTERM and, after `graceMs`, SIGKILL; and when the
 *   harness process exits for any reason, every server still running is killed with it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { RunningServer } from '../network-contract.js';

export interface ServerCommand {
  command: string;
  args: string[];
  /** Reads the address out of one line of the server's stdout or stderr; undefined until it is the ready line. */
  ready: (line: string) => string | undefined;
  description: string;
  token?: string;
  env?: NodeJS.ProcessEnv;
  /** How long it may take to say it is ready (default 15 s). */
  startTimeoutMs?: number;
  /** After SIGTERM, how long before SIGKILL (default 3 s). */
  graceMs?: number;
}

export class ServerStartError extends Error {}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function startServerProcess(spec: ServerCommand): Promise<RunningServer> {
  const child = spawn(spec.command, spec.args, { stdio: ['ignore', 'pipe', 'pipe'], env: spec.env ?? process.env });
  running.add(child);
  let output = '';
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
    const give = (error: Error | null, url?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        void stop();
        reject(error);
        return;
      }
      resolve({ url: url!, token: spec.token, pid: child.pid, description: spec.description, stop });
    };
    const timer = setTimeout(
      () =>
        give(new ServerStartError(`${spec.command} did not say it was ready within ${(spec.startTimeoutMs ?? 15000) / 1000} s: ${output.trim().slice(-400)}`)),
      spec.startTimeoutMs ?? 15_000,
    );
    // Read on after it is ready (a server blocked on a full pipe would stall), keeping only the tail.
    const onLine = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4096);
      if (settled) return;
      for (const line of output.split('\n')) {
        const url = spec.ready(line);
        if (url !== undefined) give(null, url);
      }
    };
    child.stdout!.on('data', onLine);
    child.stderr!.on('data', onLine);
    child.once('error', (e) => give(new ServerStartError(`cannot start ${spec.command}: ${e.message}`)));
    child.once('exit', (code, signal) =>
      give(new ServerStartError(`${spec.command} exited (${signal ?? `code ${code}`}) before it was ready: ${output.trim().slice(-400)}`)),
    );
  });
}
