/**
 * Helpers for the broker tests: raw sockets that speak (or break) the frame format, and message
 * payloads that carry their own number.
 */
import { connect, type Socket } from 'node:net';
import { BrokerClient } from '../../broker/client.js';
import { FRAME_HEADER_BYTES, FrameType, PROTOCOL_VERSION, textFrame } from '../../broker/frames.js';
import type { Broker } from '../../broker/server.js';
import { HEADER_BYTES } from '../../wire/envelope.js';

export function payload(n: number, size = 16): Uint8Array {
  const p = new Uint8Array(size);
  new DataView(p.buffer).setUint32(0, n, true);
  for (let i = 4; i < size; i++) p[i] = (n + i) & 0xff;
  return p;
}

/** The number a payload() carries, read from a delivered record. */
export function numberOf(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset + HEADER_BYTES, true);
}

/** A raw connection that has said HELLO; collects what the broker sends back. */
export async function rawPeer(broker: Broker, hello = true): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  const { port } = broker.address;
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let got = Buffer.alloc(0);
  socket.on('data', (d) => {
    got = Buffer.concat([got, d]);
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  if (hello) socket.write(textFrame(FrameType.HELLO, PROTOCOL_VERSION, 0, ''));
  return { socket, received: () => got, closed };
}

/** The ERROR frames in what a raw peer received: [code, message]. */
export function errorsIn(bytes: Buffer): [number, string][] {
  const out: [number, string][] = [];
  for (let at = 0; at + FRAME_HEADER_BYTES <= bytes.length; ) {
    const length = bytes.readUInt32LE(at);
    if (length < FRAME_HEADER_BYTES || at + length > bytes.length) break;
    if (bytes[at + 4] === FrameType.ERROR) {
      out.push([
        bytes.readUInt32LE(at + 12),
        bytes
          .subarray(at + FRAME_HEADER_BYTES, at + length)
          .toString('utf8')
          .replace(/\0+$/, ''),
      ]);
    }
    at += length;
  }
  return out;
}

/** A good client publishes `n` messages and a subscriber gets them all: the broker still serves. */
export async function stillServes(broker: Broker, topic = 'health', n = 100): Promise<number[]> {
  const sub = await BrokerClient.connect(broker.url);
  const pubClient = await BrokerClient.connect(broker.url);
  const got: number[] = [];
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  await sub.subscribe(topic, {}, (bytes, offset) => {
    got.push(numberOf(bytes, offset));
    if (got.length === n) done();
  });
  const publisher = await pubClient.openPublisher(topic);
  await publisher.send(Array.from({ length: n }, (_, i) => payload(i)));
  await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`got ${got.length} of ${n}`)), 5000))]);
  await Promise.all([sub.close(), pubClient.close()]);
  return got;
}

export const until = async (condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};
