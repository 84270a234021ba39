/**
 * Helpers for the broker tests: raw sockets that speak (or break) the frame format, and message
 * payloads that carry their own number.
 */
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach } from 'vitest';
import { BrokerClient } from '../../broker/client.js';
import { FRAME_HEADER_BYTES, FrameType, PROTOCOL_VERSION, padTo8, textFrame, writeFrameHeader } from '../../broker/frames.js';
import { Broker, type BrokerOptions } from '../../broker/server.js';
import { EnvelopeCodec, HEADER_BYTES } from '../../wire/envelope.js';
import { tempDir as newTempDir } from './cli.js';

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

/** Every frame header in what a raw peer received: type, id, arg and count. */
export function framesIn(bytes: Buffer): { type: number; id: number; arg: number; count: number; length: number }[] {
  const out: { type: number; id: number; arg: number; count: number; length: number }[] = [];
  for (let at = 0; at + FRAME_HEADER_BYTES <= bytes.length; ) {
    const length = bytes.readUInt32LE(at);
    if (length < FRAME_HEADER_BYTES || at + length > bytes.length) break;
    out.push({ type: bytes[at + 4], count: bytes.readUInt16LE(at + 6), id: bytes.readUInt32LE(at + 8), arg: bytes.readUInt32LE(at + 12), length });
    at += length;
  }
  return out;
}

/** A well-formed PUBLISH frame: `count` records of `payloadBytes` each, numbered from `first`. */
export function publishFrame(handle: number, batch: number, count: number, payloadBytes: number, first = 0): Buffer {
  const record = padTo8(HEADER_BYTES + payloadBytes);
  const frame = Buffer.alloc(FRAME_HEADER_BYTES + count * record);
  writeFrameHeader(frame, 0, { type: FrameType.PUBLISH, id: handle, arg: batch, count, length: frame.length });
  const codec = new EnvelopeCodec(frame);
  for (let i = 0; i < count; i++) {
    const at = FRAME_HEADER_BYTES + i * record;
    codec.writeBareHeader(at, 0, first + i, payloadBytes);
    if (payloadBytes >= 4) frame.writeUInt32LE(first + i, at + HEADER_BYTES);
  }
  return frame;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Brokers, clients, raw peers and directories a test file makes, all closed or removed after each
 * test (registered with vitest's afterEach when called at the top of the file).
 */
export function brokerFixture() {
  const brokers: Broker[] = [];
  const clients: BrokerClient[] = [];
  const sockets: Socket[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const c of clients.splice(0)) c.destroy();
    await Promise.all(brokers.splice(0).map((b) => b.close(200)));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    async startBroker(options: BrokerOptions = {}): Promise<Broker> {
      const b = await Broker.start(options);
      brokers.push(b);
      return b;
    },
    /** Closes a broker before the test ends (to restart one on the same directory). */
    async stopBroker(broker: Broker): Promise<void> {
      // Tracked until it has closed: a close that throws is tried again after the test, and a
      // broker the fixture never started leaves the tracked ones alone (indexOf -1).
      await broker.close(200);
      const at = brokers.indexOf(broker);
      if (at >= 0) brokers.splice(at, 1);
    },
    async client(broker: Broker): Promise<BrokerClient> {
      const c = await BrokerClient.connect(broker.url);
      clients.push(c);
      return c;
    },
    async peer(broker: Broker, hello = true): ReturnType<typeof rawPeer> {
      const p = await rawPeer(broker, hello);
      sockets.push(p.socket);
      return p;
    },
    /** A socket the test made itself, destroyed after it. */
    track(socket: Socket): Socket {
      sockets.push(socket);
      return socket;
    },
    /** A fresh directory, removed after the test; `purpose` names it (tempDir in cli.ts). */
    tempDir(purpose = 'broker-test'): string {
      const d = newTempDir(purpose);
      dirs.push(d);
      return d;
    },
  };
}
