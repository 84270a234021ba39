/**
 * nats-server's own ceiling on this machine: what it carries for one publisher and one subscriber
 * when the clients do no work per message. One socket writes pre-built PUB commands, 256 to a
 * write; one socket subscribed to the subject counts the bytes of the MSG frames it gets back;
 * nothing is parsed, copied or checked per message. Each message is as long as a case's envelope
 * (HEADER_BYTES + payload), so a case and the ceiling carry the same bytes per message. The
 * publisher keeps at most WINDOW_BYTES in flight (nats-server cuts a subscriber that falls
 * further behind than its max_pending, 64 MiB). Both sockets share this thread's event loop.
 *
 * The NanoMQ broker's throughput is held against it (issue 31): a suite that runs `nats`
 * throughput cases on a nats-server the harness starts carries it (`environment.serverCeilings`),
 * and each one-publisher throughput case of a single in-memory server is shown as a fraction of it
 * (results/server-ceiling.ts). It is a reference, not a case: no message is verified, so it is
 * never a figure a backend is ranked by. `scripts/bench-nats-raw.mjs` runs the same measurement
 * alone. Written by hand: it measures the server, so the client must do nothing a library would.
 */
import { connect, type Socket } from 'node:net';
import { startNats } from '../../implementations/nats/backend.js';
import type { RunningServer } from '../../implementations/network-contract.js';
import { HEADER_BYTES } from '../../wire/envelope.js';
import type { ServerCeiling } from '../results/types.js';

/** PUB commands per socket write. */
const BATCH = 256;
/** Bytes published and not yet received, at most. */
const WINDOW_BYTES = 8 * 1024 * 1024;
const SUBJECT = 'raw';
/** Past the end of a run, how long a wait may still take before the run is given up. */
const GRACE_MS = 5000;

/** A run that cannot go on: the server cut a socket, a reply never came, or the run was stopped. */
class RunAbandoned extends Error {}

/**
 * What ends a run early, watched once for the whole run (not per wait: the measured loop waits
 * thousands of times a second, on the event loop it measures): a socket closing or failing, the
 * deadline, the suite stopping. `until(p)` is `p`, unless one of those comes first.
 */
function runGuard(deadline: number, signal: AbortSignal | undefined) {
  let fail: (why: string) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = (why) => reject(new RunAbandoned(why));
  });
  failed.catch(() => {}); // observed through `until`; never an unhandled rejection
  const onClose = () => fail('nats-server closed a socket');
  const onAbort = () => fail('stopped');
  const timer = setTimeout(() => fail('no reply in time'), Math.max(0, deadline - performance.now()));
  signal?.addEventListener('abort', onAbort);
  if (signal?.aborted) onAbort();
  const watched: Socket[] = [];
  return {
    watch(socket: Socket) {
      watched.push(socket);
      socket.on('close', onClose);
      socket.on('error', onClose);
    },
    until<T>(p: Promise<T>): Promise<T> {
      return Promise.race([p, failed]);
    },
    release() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      for (const s of watched) {
        s.off('close', onClose);
        s.off('error', onClose);
        s.on('error', () => {}); // destroyed next: a late error is nobody's
      }
    },
  };
}

/** Sends `text` with a PING; the promise resolves once its PONG is back (everything before it was read). */
function handshake(socket: Socket, text: string): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.includes('PONG\r\n')) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.write(`${text}PING\r\n`);
  });
}

/** Messages per second one publisher gets through to one subscriber for `seconds`. */
async function oneRun(port: number, payload: number, seconds: number, signal: AbortSignal | undefined): Promise<number> {
  const messageBytes = HEADER_BYTES + payload;
  const pub = Buffer.concat([Buffer.from(`PUB ${SUBJECT} ${messageBytes}\r\n`), Buffer.alloc(messageBytes, 0x61), Buffer.from('\r\n')]);
  const batch = Buffer.concat(Array.from({ length: BATCH }, () => pub));
  const msgFrameBytes = Buffer.byteLength(`MSG ${SUBJECT} 1 ${messageBytes}\r\n`) + messageBytes + 2;
  const window = Math.max(BATCH, Math.floor(WINDOW_BYTES / msgFrameBytes));
  const guard = runGuard(performance.now() + seconds * 1000 + GRACE_MS, signal);
  const sockets: Socket[] = [];
  try {
    const open = () => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true });
      sockets.push(socket);
      guard.watch(socket);
      return guard.until(new Promise<Socket>((resolve) => socket.once('connect', () => resolve(socket))));
    };
    const sub = await open();
    const publisher = await open();
    await guard.until(handshake(sub, `CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${SUBJECT} 1\r\n`));
    await guard.until(handshake(publisher, 'CONNECT {"verbose":false,"pedantic":false}\r\n'));
    let receivedBytes = 0;
    let sent = 0;
    let wake: (() => void) | null = null;
    const inFlight = () => sent - Math.floor(receivedBytes / msgFrameBytes);
    sub.on('data', (d: Buffer) => {
      receivedBytes += d.length;
      if (wake && inFlight() < window) {
        const w = wake;
        wake = null;
        w();
      }
    });
    const measureFrom = performance.now();
    const end = measureFrom + seconds * 1000;
    while (performance.now() < end) {
      if (inFlight() >= window) {
        await guard.until(new Promise<void>((resolve) => (wake = resolve)));
        continue;
      }
      const drained = publisher.write(batch);
      sent += BATCH;
      if (!drained) await guard.until(new Promise((resolve) => publisher.once('drain', resolve)));
    }
    const received = Math.floor(receivedBytes / msgFrameBytes);
    if (received === 0) throw new RunAbandoned('nothing was delivered');
    return received / ((performance.now() - measureFrom) / 1000);
  } finally {
    guard.release();
    for (const s of sockets) s.destroy();
  }
}

/**
 * The ceiling at each payload: the median of `runs` runs of `seconds`, on a nats-server started
 * for it and stopped after; or why there is none (nats-server not installed, a run that failed or
 * was stopped: the suite goes on without the reference, and says so).
 */
export async function measureNatsRawCeiling(
  payloads: readonly number[],
  seconds = 2,
  runs = 3,
  signal?: AbortSignal,
): Promise<{ ceilings: ServerCeiling[] } | { problem: string }> {
  let server: RunningServer | undefined;
  try {
    server = await startNats({ durability: 'none', nodes: 1 }, false);
    const port = Number(server.url.split(':').pop());
    const ceilings: ServerCeiling[] = [];
    for (const payload of payloads) {
      const rates: number[] = [];
      for (let run = 0; run < runs; run++) rates.push(await oneRun(port, payload, seconds, signal));
      const sorted = [...rates].sort((a, b) => a - b);
      ceilings.push({
        server: server.description.replace(/, started for the suite$/, ''),
        payload,
        msgsPerSec: sorted[Math.floor(sorted.length / 2)]!,
        runs: rates,
        method: `raw protocol: one publisher socket writing pre-built PUB commands of ${HEADER_BYTES} + ${payload} bytes (a case's envelope), ${BATCH} a write, at most ${WINDOW_BYTES / 2 ** 20} MiB in flight; one subscriber socket counting the bytes of MSG frames; both on one event loop; nothing parsed, copied or verified; median of ${runs} runs of ${seconds} s`,
      });
    }
    return { ceilings };
  } catch (error) {
    return { problem: `nats-server's raw ceiling was not measured: ${(error as Error).message}` };
  } finally {
    await server?.stop().catch(() => {});
  }
}
