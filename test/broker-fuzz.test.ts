/**
 * Fuzzing the broker: well over 100 000 random and mutated frames, sent over hundreds of
 * connections at once, then a good client must still publish and receive, the broker must not
 * have thrown (an exception in its event loop would fail this test run), and every fuzzing
 * connection must be gone.
 *
 * The frames start from valid ones of every type (HELLO, OPEN_PUBLISHER, PUBLISH with records,
 * SUBSCRIBE, ACK, UNSUBSCRIBE), naming the handles their connection opened, and one in twenty is
 * then mutated: bytes flipped, lengths changed, types,
 * counts and handles replaced, frames cut short, random bytes inserted.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, FrameType, PROTOCOL_VERSION, padTo8, textFrame, writeFrameHeader } from '../broker/frames.js';
import { Broker } from '../broker/server.js';
import { seededRandom } from '../harness/metrics/stats.js';
import { EnvelopeCodec, HEADER_BYTES } from '../wire/envelope.js';
import { stillServes, until } from './support/broker-peers.js';

const CONNECTIONS = 1500;
const FRAMES_PER_CONNECTION = 80;

let broker: Broker;
beforeAll(async () => {
  broker = await Broker.start({ frameTimeoutMs: 1000, windowBytes: 256 * 1024 });
});
afterAll(() => broker.close(200));

/** What one fuzzing connection has opened, so most of its frames name handles the broker knows. */
interface Session {
  next: number;
  publishers: number[];
  subscriptions: number[];
}

const pickOf = (list: number[], random: () => number) => (list.length > 0 ? list[Math.floor(random() * list.length)] : 1);

function validFrame(random: () => number, session: Session): Buffer {
  let pick = Math.floor(random() * 6);
  if ((pick === 2 || pick === 3) && session.publishers.length === 0) pick = 0;
  if (pick >= 4 && session.subscriptions.length === 0) pick = 1;
  switch (pick) {
    case 0:
    case 1:
      // The broker numbers publishers and subscriptions of a connection 1, 2, 3, … in order.
      if (pick === 0) {
        session.publishers.push(session.next++);
        return textFrame(FrameType.OPEN_PUBLISHER, 1, 0, `t${Math.floor(random() * 3)}`);
      }
      session.subscriptions.push(session.next++);
      return textFrame(FrameType.SUBSCRIBE, 2, 1 + Math.floor(random() * 50), random() < 0.5 ? 't0' : 't1\0g');
    case 2:
    case 3: {
      const count = 1 + Math.floor(random() * 4);
      const sizes = Array.from({ length: count }, () => Math.floor(random() * 40));
      const body = sizes.reduce((s, n) => s + padTo8(HEADER_BYTES + n), 0);
      const frame = Buffer.alloc(FRAME_HEADER_BYTES + body);
      writeFrameHeader(frame, 0, { type: FrameType.PUBLISH, id: pickOf(session.publishers, random), arg: 0, count, length: frame.length });
      const codec = new EnvelopeCodec(frame);
      let at = FRAME_HEADER_BYTES;
      sizes.forEach((n, i) => {
        codec.writeBareHeader(at, 0, i, n);
        at += padTo8(HEADER_BYTES + n);
      });
      return frame;
    }
    case 4: {
      const frame = Buffer.alloc(FRAME_HEADER_BYTES + 8);
      writeFrameHeader(frame, 0, { type: FrameType.ACK, id: pickOf(session.subscriptions, random), arg: 0, count: 0, length: frame.length });
      frame.writeUInt32LE(Math.floor(random() * 5), FRAME_HEADER_BYTES);
      return frame;
    }
    default: {
      const id = session.subscriptions.pop() ?? 1;
      return textFrame(FrameType.UNSUBSCRIBE, id, 0, '');
    }
  }
}

function mutate(frame: Buffer, random: () => number): Buffer {
  const f = Buffer.from(frame);
  const r = random();
  // Most are left valid: a connection is closed at its first fatal mutant, and the handlers
  // behind HELLO, OPEN_PUBLISHER and SUBSCRIBE are only reached by connections that live.
  if (r < 0.95) return f;
  if (r < 0.96) {
    for (let k = 0; k < 1 + Math.floor(random() * 4); k++) f[Math.floor(random() * f.length)] ^= 1 << Math.floor(random() * 8);
    return f;
  }
  if (r < 0.97) {
    f.writeUInt32LE(Math.floor(random() * 2 ** 32), 0);
    return f;
  }
  if (r < 0.98) {
    f[4] = Math.floor(random() * 256);
    return f;
  }
  if (r < 0.985) {
    f.writeUInt16LE(Math.floor(random() * 65536), 6);
    f.writeUInt32LE(Math.floor(random() * 8), 8);
    return f;
  }
  if (r < 0.993) return f.subarray(0, Math.floor(random() * f.length));
  const noise = Buffer.alloc(Math.floor(random() * 64));
  for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(random() * 256);
  return Buffer.concat([f, noise]);
}

it(`survives ${CONNECTIONS * FRAMES_PER_CONNECTION} random and mutated frames, then still serves a good client`, async () => {
  const random = seededRandom(20261128);
  let framesSent = 0;
  const closed: Promise<void>[] = [];
  for (let c = 0; c < CONNECTIONS; c++) {
    const socket = connect({ host: '127.0.0.1', port: broker.address.port });
    socket.on('error', () => {});
    socket.on('data', () => {});
    closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const frames: Buffer[] = [];
    // Most connections begin properly, so the mutants reach the handlers behind HELLO.
    if (random() < 0.9) frames.push(textFrame(FrameType.HELLO, PROTOCOL_VERSION, 0, ''));
    const session: Session = { next: 1, publishers: [], subscriptions: [] };
    for (let i = 0; i < FRAMES_PER_CONNECTION; i++) frames.push(mutate(validFrame(random, session), random));
    framesSent += frames.length;
    socket.end(Buffer.concat(frames));
  }
  expect(framesSent).toBeGreaterThanOrEqual(100_000);
  // Every fuzzing connection ends: refused for bad input, closed by its own end, or timed out mid-frame.
  await Promise.all(closed);
  await until(() => broker.statsNow().connections === 0, 10_000, 'every fuzzing connection to be gone');
  const stats = broker.statsNow();
  expect(stats.protocolErrors).toBeGreaterThan(CONNECTIONS / 2);
  // Not only sent: a good share reached the handlers behind the frame reader.
  expect(stats.frames).toBeGreaterThan(20_000);
  console.log(`fuzz: ${framesSent} frames sent over ${CONNECTIONS} connections; ${stats.frames} handled, ${stats.protocolErrors} connections refused`);
  expect(await stillServes(broker, 'after-fuzz', 1000)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
}, 120_000);
