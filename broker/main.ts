/**
 * `nanomq broker`: runs the NanoMQ broker until SIGINT or SIGTERM, then stops gracefully (no new
 * connections or publishes, accepted messages delivered, exit 0). docs/broker.md.
 *
 * A lean entry of its own: `nanomq` hands `broker` here before loading anything of the harness,
 * in a process with the broker's V8 flags (broker/launcher.ts), so the broker process holds only
 * the broker (measured: 48–49 MiB RSS idle). The first line on stdout is always `nanomq broker listening on tcp://HOST:PORT`:
 * the harness starts brokers on port 0 and reads the port back from it.
 *
 * Exit codes: 0 stopped by a signal, or by its launcher's end; 2 a bad flag (named) or an address
 * it cannot listen on; 70 a failed log write or sync.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { DurabilityPolicy } from '../wal/log.js';
import { type Parsed, parseCount, parseDuration, parseSize } from '../wire/units.js';
import { dropOutputToClosedPipes } from './closed-pipes.js';
import { DEFAULT_HEAP_HEADROOM_BYTES, type HeapGoal, startHeapGoal } from './heap-goal.js';
import { launcherGone } from './launcher.js';
import { type BrokerLimits, DEFAULT_LIMITS } from './limits.js';
import { loadMallocTrim, type MallocTrimLoad } from './malloc-trim.js';
import { BROKER_NODE_FLAGS } from './node-flags.js';
import { Broker, BrokerError, isLoopback } from './server.js';
import type { Storage } from './storage.js';

/** A flag for each limit (broker/limits.ts), with its unit: sizes take 64KiB or 4MiB, times 500ms or 30s. */
const LIMIT_FLAGS: { flag: string; key: keyof BrokerLimits; kind: 'size' | 'time' | 'count'; help: string }[] = [
  { flag: 'window', key: 'windowBytes', kind: 'size', help: "bytes a connection's publishers may have in the broker before they wait for credit" },
  {
    flag: 'max-buffered',
    key: 'bufferedBytes',
    kind: 'size',
    help: 'bytes all publishers together may have in the broker (each publishing connection reserves a window)',
  },
  { flag: 'max-preauth', key: 'preAuthBytes', kind: 'size', help: 'the longest frame a connection may send before its HELLO is accepted' },
  { flag: 'max-input', key: 'inputBudgetBytes', kind: 'size', help: 'bytes of incomplete frames the broker holds; a connection past it is paused' },
  { flag: 'max-pending', key: 'maxPendingBytes', kind: 'size', help: "bytes waiting in a connection's socket before delivery to it stops" },
  { flag: 'max-connections', key: 'maxConnections', kind: 'count', help: 'connections served at once' },
  { flag: 'max-handles', key: 'maxHandlesPerConnection', kind: 'count', help: 'publishers and subscriptions on one connection' },
  { flag: 'max-topics', key: 'maxTopics', kind: 'count', help: 'topics in the broker' },
  { flag: 'max-topics-per-connection', key: 'maxTopicsPerConnection', kind: 'count', help: "distinct topics one connection's handles name" },
  { flag: 'max-groups', key: 'maxGroups', kind: 'count', help: 'consumer groups in the broker' },
  { flag: 'max-groups-per-topic', key: 'maxGroupsPerTopic', kind: 'count', help: 'consumer groups on one topic' },
  { flag: 'frame-timeout', key: 'frameTimeoutMs', kind: 'time', help: 'a frame left incomplete, or no HELLO, for this long closes the connection' },
  { flag: 'slow-consumer', key: 'slowConsumerMs', kind: 'time', help: 'a delivery unacknowledged for this long closes its subscriber (SLOW_CONSUMER)' },
  { flag: 'group-idle', key: 'groupIdleMs', kind: 'time', help: 'a consumer group without members this long is dropped' },
  { flag: 'topic-idle', key: 'topicIdleMs', kind: 'time', help: 'a topic nothing needs this long is deleted, its log directory too (0: at once)' },
];

function shown(kind: 'size' | 'time' | 'count', value: number): string {
  if (kind === 'time') return value % 1000 === 0 ? `${value / 1000}s` : `${value}ms`;
  if (kind === 'size') {
    for (const [unit, scale] of [
      ['GiB', 1024 ** 3],
      ['MiB', 1024 ** 2],
      ['KiB', 1024],
    ] as const)
      if (value % scale === 0) return `${value / scale}${unit}`;
  }
  return String(value);
}

const USAGE = `Usage: nanomq broker [options]

Run the NanoMQ TCP broker (topics, subscriptions, consumer groups) until SIGINT/SIGTERM.

Options:
  --port <n>             TCP port (0: any free port, printed on the first line) (default: 7480, or NANOMQ_PORT)
  --listen <addr>        address to listen on; beyond loopback a token is required (default: 127.0.0.1)
  --token <t>            secret every client must present (or set NANOMQ_TOKEN)
  --tls-cert <file>      speak TLS with this certificate (PEM); with --tls-key. Beyond loopback, without
  --tls-key <file>       TLS the token and the messages cross the network in clear
  --log <dir>            keep topics in a write-ahead log in <dir>: a restarted broker has every
                         acknowledged message and resumes its consumer groups (default: memory only)
  --durability <policy>  with --log, when a publish is acknowledged: none (written to the page
                         cache), batch (group commit: one fdatasync for ~1 ms of publishes),
                         always (an fdatasync per batch) (default: batch)
  --retention <size>     with --log, delete a topic's oldest log segments beyond this size
                         (default: keep everything)
  --heap-headroom <size> garbage the broker's heap (objects and buffers) may hold before a full
                         collection: what the last one left alive plus this; also the bytes of
                         one-use buffers (TLS reads, frames that span reads) between
                         young-generation collections (0: V8's own policy) (default: 4MiB)

Limits (docs/broker.md, "Limits"; sizes take 64KiB, 4MiB; times 500ms, 30s):
${LIMIT_FLAGS.map(({ flag, kind, key, help }) => `  --${`${flag} <${kind}>`.padEnd(36)} ${help} (default: ${shown(kind, DEFAULT_LIMITS[key])})`).join('\n')}
  -h, --help             display help for command
`;

class FlagError extends Error {}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new FlagError(`${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A limit flag's value in the limit's own unit (bytes, milliseconds, a count). */
function limitValue(flag: string, kind: 'size' | 'time' | 'count', value: string): number {
  const parsed: Parsed = kind === 'size' ? parseSize(value) : kind === 'time' ? parseDuration(value) : parseCount(value);
  if (!parsed.ok) throw new FlagError(`--${flag}: ${parsed.message}`);
  const n = kind === 'time' ? parsed.value / 1e6 : parsed.value;
  if (!Number.isSafeInteger(n) || n < 0)
    throw new FlagError(
      `--${flag}: expected a whole number of ${kind === 'time' ? 'milliseconds' : kind === 'size' ? 'bytes' : 'things'} ≥ 0, got ${JSON.stringify(value)}`,
    );
  return n;
}

/**
 * The storage the flags ask for: memory, or a write-ahead log in a directory (opened and recovered
 * here). The log's code is loaded only for a log: it brings its CRC's native binding and 6–7 MiB of
 * the node binary's pages into the process (an idle broker 56 → 48 MiB RSS without it, RssFile
 * 42 → 37 MiB).
 */
async function openStorage(dir: string | undefined, durability: string | undefined, retention: string | undefined): Promise<Storage | undefined> {
  if (dir === undefined) {
    if (durability !== undefined) throw new FlagError('--durability: needs --log <dir> (without it the broker keeps messages in memory only)');
    if (retention !== undefined) throw new FlagError('--retention: needs --log <dir>');
    return undefined;
  }
  let log: [typeof import('../wal/log.js'), typeof import('./log-storage.js')];
  try {
    log = await Promise.all([import('../wal/log.js'), import('./log-storage.js')]);
  } catch (error) {
    throw new FlagError(`--log ${dir}: cannot load the log's code: ${(error as Error).message.split('\n')[0]}`);
  }
  const [{ DURABILITY_POLICIES }, { LogStorage }] = log;
  const policy = durability ?? 'batch';
  if (!(DURABILITY_POLICIES as readonly string[]).includes(policy)) {
    throw new FlagError(`--durability: expected one of ${DURABILITY_POLICIES.join(', ')}, got ${JSON.stringify(policy)}`);
  }
  const retentionBytes = retention === undefined ? undefined : limitValue('retention', 'size', retention);
  if (retentionBytes !== undefined && retentionBytes < 1024 * 1024) throw new FlagError(`--retention: at least 1MiB, got ${JSON.stringify(retention)}`);
  try {
    return new LogStorage(dir, { durability: policy as DurabilityPolicy, retentionBytes });
  } catch (error) {
    // A second broker on the same directory, damage in a log, a directory it cannot write.
    throw new FlagError(`--log ${dir}: ${(error as Error).message}`);
  }
}

/** The certificate and key files, read; both or neither. */
function readTls(cert: string | undefined, key: string | undefined): { cert: Buffer; key: Buffer } | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined)
    throw new FlagError(`--tls-cert and --tls-key go together (got only ${cert !== undefined ? '--tls-cert' : '--tls-key'})`);
  const read = (flag: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new FlagError(`--${flag} ${path}: ${(error as Error).message}`);
    }
  };
  return { cert: read('tls-cert', cert), key: read('tls-key', key) };
}

/**
 * Every connection takes a file descriptor, and with --log every topic another: a limit the
 * process cannot reach is said at start, not found as EMFILE under load. (Node raises the soft
 * limit to the hard one at start; this reads what it got.)
 */
function warnIfFewDescriptors(broker: Broker, logged: boolean): void {
  let limit: number;
  try {
    limit = Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]);
  } catch {
    return;
  }
  const { maxConnections, maxTopics } = broker.limits;
  const needed = maxConnections + 128 + (logged ? maxTopics : 0) + 64;
  if (Number.isFinite(limit) && limit < needed) {
    process.stderr.write(
      `nanomq broker: warning: ${limit} file descriptors allowed, the limits may need ${needed} (--max-connections${logged ? ', --max-topics' : ''}); raise ulimit -n or lower them\n`,
    );
  }
}

/** The broker's options as parseArgs takes them: one list, for the parser and for shell completion. */
function brokerOptions() {
  const limitOptions = Object.fromEntries(LIMIT_FLAGS.map(({ flag }) => [flag, { type: 'string' as const }]));
  return {
    port: { type: 'string', default: process.env.NANOMQ_PORT || '7480' },
    listen: { type: 'string', default: '127.0.0.1' },
    token: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    log: { type: 'string' },
    durability: { type: 'string' },
    retention: { type: 'string' },
    'heap-headroom': { type: 'string', default: `${DEFAULT_HEAP_HEADROOM_BYTES / (1024 * 1024)}MiB` },
    help: { type: 'boolean', short: 'h' },
    ...limitOptions,
  } as const;
}

/** `--port`, `--log`, …: every flag `nanomq broker` takes. */
export function brokerFlags(): string[] {
  return Object.keys(brokerOptions()).map((name) => `--${name}`);
}

/** Runs the broker with command-line `args`; resolves with the exit code. */
export async function runBrokerCli(args: string[]): Promise<number> {
  // Started by `nanomq broker` (broker/launcher.ts): the launcher's end is this broker's end,
  // even when it died without a word (SIGKILL), and even before this broker listens (asked at
  // once, so it is not missed while a log replays).
  let requestStop: (reason: string) => void = () => {};
  const stopRequested = new Promise<string>((resolve) => (requestStop = resolve));
  void launcherGone().then(() => requestStop('its launcher (nanomq broker) went away'));
  let broker: Broker;
  let heapGoal: HeapGoal | null = null;
  let trimLoad: MallocTrimLoad | null = null;
  let host: string;
  let token: string | undefined;
  try {
    const { values } = parseArgs({ args, options: brokerOptions(), strict: true, allowPositionals: false });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const port = wholeNumber('--port', values.port as string, 0, 65535);
    const limits: Partial<Record<keyof BrokerLimits, number>> = {};
    for (const { flag, key, kind } of LIMIT_FLAGS) {
      const value = (values as Record<string, unknown>)[flag];
      if (typeof value === 'string') limits[key] = limitValue(flag, kind, value);
    }
    host = values.listen as string;
    token = (values.token as string | undefined) ?? (process.env.NANOMQ_TOKEN || undefined);
    const tls = readTls(values['tls-cert'] as string | undefined, values['tls-key'] as string | undefined);
    const headroom = limitValue('heap-headroom', 'size', values['heap-headroom'] as string);
    // A full collection per check (every 50 ms) at most; a headroom this small would ask for one at each.
    if (headroom > 0 && headroom < 1024 * 1024)
      throw new FlagError(`--heap-headroom: 0 (off) or at least 1MiB, got ${JSON.stringify(values['heap-headroom'])}`);
    const storage = await openStorage(values.log as string | undefined, values.durability as string | undefined, values.retention as string | undefined);
    // From here a signal stops the broker gracefully, as soon as it listens (before, while flags
    // are read and a log replays, it ends the process as Node's default does: nothing is served
    // yet). A signal that repeats while the broker stops is ignored (`on`, not `once`: after
    // `once`, the second SIGTERM of a supervisor that signals every process, or of npm and a
    // terminal both passing on a Ctrl-C, would kill it mid-stop); the stop ends by itself, within
    // its grace time (Broker.close, 1.5 s).
    process.on('SIGINT', () => requestStop('SIGINT'));
    process.on('SIGTERM', () => requestStop('SIGTERM'));
    try {
      broker = await Broker.start({ host, port, token, tls, storage, ...limits });
    } catch (error) {
      storage?.close();
      if (error instanceof BrokerError) {
        const option = error.option;
        const flag = option === 'host' ? 'listen' : option === 'tls' ? 'tls-cert' : (LIMIT_FLAGS.find((f) => f.key === option)?.flag ?? option);
        throw new FlagError(`--${flag}: ${error.message}`);
      }
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
        throw new FlagError(`--port/--listen: cannot listen on ${host}:${port} (${code})`);
      throw error;
    }
    warnIfFewDescriptors(broker, values.log !== undefined);
    // The addon only where the heap goal will run (it needs `gc`, which the broker's V8 flags expose).
    if (headroom > 0 && typeof (globalThis as { gc?: unknown }).gc === 'function') {
      trimLoad = loadMallocTrim();
      heapGoal = startHeapGoal(headroom, { trim: trimLoad.ok ? trimLoad.trim : null });
    }
    const goal = heapGoal;
    if (goal !== null) broker.transientObserver = (bytes) => goal.countTransient(bytes);
    else if (headroom > 0) {
      process.stderr.write(
        `nanomq broker: warning: started without ${BROKER_NODE_FLAGS.join(' ')} (nanomq broker and the harness give them): garbage is collected as V8 decides, --heap-headroom does nothing, and glibc's free pages are not trimmed\n`,
      );
    }
    if (!isLoopback(host) && tls === undefined) {
      process.stderr.write(
        `nanomq broker: warning: listening on ${host} without TLS: the token and every message cross the network in clear (--tls-cert, --tls-key)\n`,
      );
    }
  } catch (error) {
    if (error instanceof FlagError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`nanomq: ${(error as Error).message}\n${error instanceof FlagError ? '' : USAGE}`);
      return 2;
    }
    throw error;
  }
  process.stdout.write(`nanomq broker listening on ${broker.url}${token ? ' (token required)' : ''}\n`);
  const reason = await stopRequested;
  process.stderr.write(`nanomq broker: ${reason}, stopping\n`);
  await broker.close();
  const s = broker.statsNow();
  process.stderr.write(
    `nanomq broker: stopped (${s.published} published, ${s.delivered} delivered, ${s.redelivered} redelivered, ${s.protocolErrors} connections closed for bad input, ${s.refused} requests refused for a limit${
      heapGoal === null
        ? ''
        : `; started ${heapGoal.collections} full and ${heapGoal.scavenges} young-generation collections to bound its memory, ${trimLoad?.ok ? `${heapGoal.trims} malloc trims in ${heapGoal.trimMs.toFixed(0)} ms` : `no malloc trims (${trimLoad?.reason})`}`
    })\n`,
  );
  return 0;
}

// Run as a program (`node dist/broker/main.js …`: how the harness, `nanomq broker`'s launcher and
// users start brokers), not when `nanomq broker` imports it (started with the broker's flags already).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  dropOutputToClosedPipes();
  process.exit(await runBrokerCli(process.argv.slice(2)));
}
