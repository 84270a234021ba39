/**
 * nats-server's own ceiling on this machine: what it carries for one publisher and one subscriber
 * when the clients do no work per message. One socket writes pre-built PUB commands, 256 to a
 * write; one socket subscribed to the subject counts the bytes of the MSG frames it gets back;
 * nothing is parsed, copied or checked per message. The publisher keeps at most WINDOW messages
 * in flight (nats-server cuts a subscriber that falls too far behind). The NanoMQ broker's
 * throughput is held against it (issue 31): a suite that runs `nats` throughput cases carries it
 * (`environment.serverCeilings`), and each one-producer throughput case of a network backend is
 * shown as a fraction of it. It is a reference, not a case: no message is verified, so it is
 * never a figure a backend is ranked by. `scripts/bench-nats-raw.mjs` runs the same measurement
 * alone. Written by hand: it measures the server, so the client must do nothing a library would.
 */
import { connect, type Socket } from 'node:net';
import { startNats } from '../../implementations/nats/backend.js';
import type { RunningServer } from '../../implementations/network-contract.js';
import type { ServerCeiling } from '../results/types.js';

/** PUB commands per socket write. */
const BATCH = 256;
/** Messages published and not yet received, at most. */
const WINDOW = 64 * 1024;
const SUBJECT = 'raw';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends `text` with a PING and resolves once its PONG is back: everything before it was read. */
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
async function oneRun(port: number, payload: number, seconds: number): Promise<number> {
  const body = Buffer.alloc(payload, 0x61);
  const pub = Buffer.concat([Buffer.from(`PUB ${SUBJECT} ${payload}\r\n`), body, Buffer.from('\r\n')]);
  const batch = Buffer.concat(Array.from({ length: BATCH }, () => pub));
  const msgFrameBytes = Buffer.byteLength(`MSG ${SUBJECT} 1 ${payload}\r\n`) + payload + 2;
  const sub = await open(port);
  const publisher = await open(port);
  try {
    await handshake(sub, `CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${SUBJECT} 1\r\n`);
    await handshake(publisher, 'CONNECT {"verbose":false,"pedantic":false}\r\n');
    let receivedBytes = 0;
    let sent = 0;
    let wake: (() => void) | null = null;
    const inFlight = () => sent - Math.floor(receivedBytes / msgFrameBytes);
    sub.on('data', (d: Buffer) => {
      receivedBytes += d.length;
      if (wake && inFlight() < WINDOW) {
        const w = wake;
        wake = null;
        w();
      }
    });
    const start = performance.now();
    const end = start + seconds * 1000;
    while (performance.now() < end) {
      if (inFlight() >= WINDOW) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const drained = publisher.write(batch);
      sent += BATCH;
      if (!drained) await new Promise((resolve) => publisher.once('drain', resolve));
    }
    return Math.floor(receivedBytes / msgFrameBytes) / ((performance.now() - start) / 1000);
  } finally {
    publisher.destroy();
    sub.destroy();
  }
}

/**
 * The ceiling at each payload: the median of `runs` runs of `seconds`, on a nats-server started
 * for it and stopped after. Undefined when nats-server is not installed or a run fails (the suite
 * goes on without the reference).
 */
export async function measureNatsRawCeiling(payloads: readonly number[], seconds = 2, runs = 3): Promise<ServerCeiling[] | undefined> {
  let server: RunningServer | undefined;
  try {
    server = await startNats({ durability: 'none', nodes: 1 }, false);
    const port = Number(new URL(server.url.replace(/^nats:/, 'http:')).port);
    const ceilings: ServerCeiling[] = [];
    for (const payload of payloads) {
      const rates: number[] = [];
      for (let run = 0; run < runs; run++) rates.push(await oneRun(port, payload, seconds));
      const sorted = [...rates].sort((a, b) => a - b);
      ceilings.push({
        server: server.description.replace(/, started for the suite$/, ''),
        payload,
        msgsPerSec: sorted[Math.floor(sorted.length / 2)]!,
        runs: rates,
        method: `raw protocol: one publisher socket writing pre-built PUB commands (${BATCH} a write, at most ${WINDOW} in flight), one subscriber socket counting the bytes of MSG frames; nothing parsed, copied or verified; median of ${runs} runs of ${seconds} s`,
      });
    }
    return ceilings;
  } catch {
    return undefined;
  } finally {
    await server?.stop().catch(() => {});
  }
}
