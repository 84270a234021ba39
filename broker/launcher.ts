/**
 * `nanomq broker` started without the broker's V8 flags and environment (broker/node-flags.ts) —
 * which is how a user starts it, through the `nanomq` program — runs the broker as a child
 * process that has them, and stands in for it:
 *
 *   nanomq broker --port 7480          this process: forwards signals, exits with the child's code
 *    └─ GLIBC_TUNABLES=glibc.malloc.arena_max=1 node --max-semi-space-size=1 --expose-gc
 *         dist/broker/main.js --port 7480                                   the broker
 *
 * - The child is the leader of a session of its own, so a terminal's Ctrl-C reaches it from here
 *   only; the broker also ignores a signal that repeats while it stops (broker/main.ts), so a
 *   SIGTERM sent to both processes (systemd, a container runtime) stops it once, gracefully.
 * - SIGINT and SIGTERM are forwarded; the broker's exit code is returned (128 + n if signal n
 *   ended it).
 * - If this process dies without forwarding anything (SIGKILL, SIGHUP), the child sees its IPC
 *   channel close and stops gracefully, even if that happened before it was listening: it is
 *   marked as launched (LAUNCHED_ENV), and a launched broker without its channel stops at once.
 * - Standard input, output and error are the child's own: the first line on stdout is the
 *   broker's `listening on` line, as ever.
 * - The launcher is a second Node process: 43 MiB RSS idle, 36 MiB of it the node binary's
 *   mapped pages, which it shares with the broker, and 7.6 MiB its own (RssFile and RssAnon in
 *   /proc/PID/status, measured beside an idle broker of 49 MiB; 48 MiB since the log's code is
 *   loaded only with --log).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BROKER_NODE_FLAGS, brokerEnvironment } from './node-flags.js';

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Set in the broker's environment by the launcher: its end is the broker's end. */
export const LAUNCHED_ENV = 'NANOMQ_BROKER_LAUNCHED';

/**
 * Runs `node <BROKER_NODE_FLAGS> <this process's Node flags> broker/main.js <args>`; resolves with
 * its exit code (128 + n if signal n ended it; 1 if it could not start).
 */
export function launchBroker(args: readonly string[]): Promise<number> {
  const entry = fileURLToPath(new URL('./main.js', import.meta.url));
  const forwarders: (() => void)[] = [];
  const stopForwarding = () => {
    for (const remove of forwarders.splice(0)) remove();
  };
  return new Promise((resolve) => {
    const cannotStart = (error: Error) => {
      stopForwarding();
      process.stderr.write(`nanomq broker: cannot start ${process.execPath}: ${error.message}\n`);
      resolve(1);
    };
    try {
      // The user's own Node flags go on, after the broker's (the later of two wins: `node
      // --max-semi-space-size=4 … broker` gets 4); an --inspect stays here, where it was asked
      // for (the child's would collide with it).
      const userFlags = process.execArgv.filter((flag) => !/^--inspect/.test(flag));
      const child = spawn(process.execPath, [...BROKER_NODE_FLAGS, ...userFlags, entry, ...args], {
        stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
        detached: true,
        env: { ...brokerEnvironment(), [LAUNCHED_ENV]: '1' },
      });
      for (const signal of FORWARDED_SIGNALS) {
        const forward = () => child.kill(signal);
        process.on(signal, forward);
        forwarders.push(() => process.off(signal, forward));
      }
      // 'error' is also a signal that could not be sent to a running child: said, not taken for a failed start.
      child.on('error', (error) => {
        if (child.pid === undefined) cannotStart(error);
        else process.stderr.write(`nanomq broker: ${error.message}\n`);
      });
      child.once('exit', (code, signal) => {
        stopForwarding();
        resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
      });
    } catch (error) {
      cannotStart(error as Error);
    }
  });
}

/**
 * In the broker: resolves when the launcher that started it is gone (at once if it was gone
 * before this was called); never, for a broker started any other way (the harness, a user's own
 * `node dist/broker/main.js`, a process manager with an IPC channel of its own).
 */
export function launcherGone(): Promise<void> {
  const launched = process.env[LAUNCHED_ENV] === '1';
  // Read once, and not passed on to anything this process might start.
  delete process.env[LAUNCHED_ENV];
  // Marked but given no channel: not the launcher's child (the marker leaked); never stop for it.
  if (!launched || typeof process.send !== 'function') return new Promise(() => {});
  if (!process.connected) return Promise.resolve();
  return new Promise((resolve) => process.once('disconnect', () => resolve()));
}
