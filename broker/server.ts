/**
 * The NanoMQ broker: a TCP server speaking broker/frames.ts.
 *
 *   publisher ──PUBLISH──▶ ┌────────── broker ──────────┐ ──DELIVER──▶ subscriber (every message)
 *             ◀─PUBACK──── │ topic: log ─ subscriptions │ ◀──ACK──────
 *             ◀─CREDIT──── │        └──── groups ───────│ ──DELIVER──▶ group member (its share)
 *                          └────────────────────────────┘ ◀──ACK──────
 *
 * Every connection starts with HELLO (protocol version, and the token when the broker has one).
 * Bad input closes only the connection that sent it, after an ERROR frame saying why: frames
 * too long or too short, unknown types, malformed batches, a frame left half sent for longer
 * than `frameTimeoutMs`, more connections than `maxConnections`. Other clients carry on.
 *
 * Safe by default: it listens on loopback; any other address needs a token (checked by
 * `startBroker`). One event loop does all the work, so there are no locks: a frame is handled
 * whole before the next.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { FrameError, FrameReader } from './frame-reader.js';
import {
  bodyText,
  checkBatch,
  ErrorCode,
  type ErrorCodeValue,
  FRAME_HEADER_BYTES,
  FrameFlags,
  FrameHeaderReader,
  FrameType,
  frameHeader,
  NAME_PATTERN,
  PROTOCOL_VERSION,
  textFrame,
} from './frames.js';
import { MemoryStorage, type Storage, type StoredBatch } from './storage.js';
import { type DeliverySink, Subscription } from './subscription.js';
import { type CreditOwner, Topic } from './topic.js';

export interface BrokerOptions {
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (default) picks a free one (read it back from `address`). */
  port?: number;
  /** Required in every HELLO when set; required to listen beyond loopback. */
  token?: string;
  /** Bytes a publisher may have in the broker before it waits for CREDIT (default 4 MiB). */
  windowBytes?: number;
  maxConnections?: number;
  /** A frame left incomplete, or a connection without HELLO, for this long is closed (default 10 s). */
  frameTimeoutMs?: number;
  /** A subscriber out of credit that acknowledges nothing for this long is closed; an empty group this old is dropped (default 30 s). */
  slowConsumerMs?: number;
  storage?: Storage;
}

export const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024;
const LIMITS = { topics: 10_000, handlesPerConnection: 1024 };

export class BrokerError extends Error {}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

/** Counters the broker keeps about itself (printed at exit, and by tests). */
export interface BrokerStats {
  /** Frames handled (read whole and acted on, an error included). */
  frames: number;
  connections: number;
  published: number;
  delivered: number;
  redelivered: number;
  protocolErrors: number;
  retainedBytes: number;
}

export class Broker {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly topics = new Map<string, Topic>();
  private readonly storage: Storage;
  private readonly sweeper: NodeJS.Timeout;
  readonly options: Required<Omit<BrokerOptions, 'token' | 'storage'>> & { token: string | undefined };
  readonly stats = { frames: 0, published: 0, delivered: 0, protocolErrors: 0 };
  private closing = false;

  private constructor(options: BrokerOptions) {
    this.options = {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      token: options.token,
      windowBytes: options.windowBytes ?? DEFAULT_WINDOW_BYTES,
      maxConnections: options.maxConnections ?? 4096,
      frameTimeoutMs: options.frameTimeoutMs ?? 10_000,
      slowConsumerMs: options.slowConsumerMs ?? 30_000,
    };
    this.storage = options.storage ?? new MemoryStorage();
    // A durable storage's topics and groups, as the last run left them.
    for (const { name, groups } of this.storage.restored()) {
      const topic = new Topic(name, this.storage.topic(name));
      for (const [group, committed] of groups) topic.restoreGroup(group, committed);
      this.topics.set(name, topic);
    }
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.sweeper = setInterval(() => this.sweep(), Math.min(1000, this.options.frameTimeoutMs / 2));
    this.sweeper.unref();
  }

  /** Starts a broker; resolves once it listens. Refuses a non-loopback address without a token. */
  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const host = options.host ?? '127.0.0.1';
    if (!isLoopback(host) && !options.token) {
      throw new BrokerError(`listening on ${host} (beyond loopback) needs a token (--token): anyone who can reach it could publish and read`);
    }
    const broker = new Broker(options);
    try {
      await new Promise<void>((resolve, reject) => {
        broker.server.once('error', reject);
        broker.server.listen(broker.options.port, host, () => {
          broker.server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      clearInterval(broker.sweeper);
      broker.storage.close();
      throw error;
    }
    return broker;
  }

  get address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new BrokerError('not listening');
    return { host: a.address, port: a.port };
  }

  get url(): string {
    const { host, port } = this.address;
    return `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  statsNow(): BrokerStats {
    let retainedBytes = 0;
    let redelivered = 0;
    for (const t of this.topics.values()) {
      retainedBytes += t.log.retainedBytes;
      for (const g of t.groups.values()) redelivered += g.redelivered;
    }
    return { ...this.stats, connections: this.connections.size, redelivered, retainedBytes };
  }

  /**
   * Graceful stop: no new connections and no new publishes (refused with SHUTTING_DOWN); what
   * was accepted goes on being delivered to the subscribers still reading, for up to 3/4 of
   * `graceMs`; then every connection has what is queued for it written out and is closed, and
   * the stragglers are cut off when `graceMs` is up.
   */
  async close(graceMs = 1500): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.sweeper);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const drainUntil = Date.now() + (graceMs * 3) / 4;
    while (Date.now() < drainUntil && [...this.topics.values()].some((t) => t.backlog() > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const ends = [...this.connections].map((c) => c.end(Math.max(100, drainUntil + graceMs / 4 - Date.now())));
    await Promise.all([closed, ...ends]);
    this.storage.close();
  }

  get shuttingDown(): boolean {
    return this.closing;
  }

  topic(name: string): Topic | undefined {
    let topic = this.topics.get(name);
    if (topic === undefined) {
      if (this.topics.size >= LIMITS.topics) return undefined;
      topic = new Topic(name, this.storage.topic(name));
      this.topics.set(name, topic);
    }
    return topic;
  }

  checkToken(offered: string): boolean {
    const expected = this.options.token;
    if (expected === undefined) return true;
    const a = Buffer.from(offered);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const connection = new Connection(this, socket);
    if (this.connections.size >= this.options.maxConnections) {
      connection.fail(0, ErrorCode.LIMIT, `the broker serves at most ${this.options.maxConnections} connections`);
      return;
    }
    this.connections.add(connection);
    socket.once('close', () => {
      this.connections.delete(connection);
      connection.detach();
    });
  }

  /** Closes stalled senders and consumers that stopped reading; drops groups left empty too long. */
  private sweep(): void {
    const now = Date.now();
    for (const c of this.connections) c.sweep(now);
    for (const topic of this.topics.values()) {
      for (const group of [...topic.groups.values()]) {
        if (group.emptySince > 0 && now - group.emptySince > this.options.slowConsumerMs) topic.dropGroup(group.name);
      }
    }
  }
}

class Publisher implements CreditOwner {
  /** Bytes published and not yet dropped by the topic. */
  outstanding = 0;
  private owed = 0;
  private scheduled = false;
  lastBatch = -1;
  private ackScheduled = false;

  constructor(
    readonly handle: number,
    readonly topic: Topic,
    private readonly connection: Connection,
  ) {}

  giveBack(bytes: number): void {
    this.outstanding -= bytes;
    this.owed += bytes;
    if (this.scheduled) return;
    // Credit goes back in eighths of the window, not after every batch: one CREDIT frame (a
    // write) per batch was a good part of the broker's CPU at 500k msg/s. Holding back less than
    // an eighth while the publisher has under half its window in the broker never starves it:
    // it can still see at least 3/8 of its window as credit.
    const window = this.connection.windowBytes;
    if (this.owed < window / 8 && this.outstanding + this.owed < window / 2) return;
    // One CREDIT frame for everything given back in this turn of the event loop.
    this.scheduled = true;
    process.nextTick(() => {
      this.scheduled = false;
      const bytesOwed = this.owed;
      this.owed = 0;
      this.connection.send(frameHeader(FrameType.CREDIT, this.handle, bytesOwed, 0, 0));
    });
  }

  accepted(batch: number): void {
    this.lastBatch = batch;
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    process.nextTick(() => {
      this.ackScheduled = false;
      this.connection.send(frameHeader(FrameType.PUBACK, this.handle, this.lastBatch, 0, 0));
    });
  }
}

/** One client connection: its frames in, its deliveries out. */
class Connection implements DeliverySink {
  private readonly reader: FrameReader;
  private hello = false;
  private closed = false;
  private corked = false;
  private readonly openedAt = Date.now();
  private midFrameSince = 0;
  private nextHandle = 1;
  private readonly publishers = new Map<number, Publisher>();
  private readonly subscriptions = new Map<number, Subscription>();
  private readonly header = new FrameHeaderReader();
  readonly windowBytes: number;

  constructor(
    private readonly broker: Broker,
    private readonly socket: Socket,
  ) {
    this.windowBytes = broker.options.windowBytes;
    this.reader = new FrameReader((bytes, at, length, reused) => this.onFrame(bytes, at, length, reused), false);
    socket.on('data', (chunk) => this.onData(chunk));
    // A reset or a write to a closed peer ends this connection only.
    socket.on('error', () => socket.destroy());
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.reader.push(chunk);
    } catch (error) {
      if (error instanceof FrameError) this.fail(0, ErrorCode.BAD_FRAME, error.message);
      else this.fail(0, ErrorCode.BAD_FRAME, `internal error: ${(error as Error).message}`);
      return;
    }
    this.midFrameSince = this.reader.midFrame ? this.midFrameSince || Date.now() : 0;
  }

  private onFrame(bytes: Uint8Array, at: number, length: number, reused: boolean): void {
    if (this.closed) return;
    this.broker.stats.frames++;
    const header = this.header;
    header.read(bytes, at);
    const { view: v, type, id, arg, count } = header;
    if (!this.hello && type !== FrameType.HELLO) {
      this.fail(0, ErrorCode.NOT_AUTHORIZED, 'the first frame must be HELLO');
      return;
    }
    switch (type) {
      case FrameType.HELLO: {
        if (this.hello) {
          this.fail(0, ErrorCode.BAD_FRAME, 'HELLO sent twice');
          return;
        }
        if (id !== PROTOCOL_VERSION) {
          this.fail(0, ErrorCode.BAD_FRAME, `protocol version ${id} (this broker speaks ${PROTOCOL_VERSION})`);
          return;
        }
        if (!this.broker.checkToken(bodyText(bytes, at, length))) {
          this.fail(0, ErrorCode.NOT_AUTHORIZED, 'wrong or missing token');
          return;
        }
        this.hello = true;
        this.send(frameHeader(FrameType.OK, 0, 0, 0, 0));
        return;
      }
      case FrameType.PUBLISH:
        this.publish(v, bytes, at, length, id, arg, count, reused);
        return;
      case FrameType.ACK:
        this.ack(v, at, length, id, count);
        return;
      case FrameType.OPEN_PUBLISHER:
        this.openPublisher(id, bodyText(bytes, at, length));
        return;
      case FrameType.SUBSCRIBE:
        this.subscribe(id, arg, bodyText(bytes, at, length));
        return;
      case FrameType.UNSUBSCRIBE: {
        const s = this.subscriptions.get(id);
        if (s === undefined) {
          this.fail(id, ErrorCode.UNKNOWN_HANDLE, `no subscription ${id}`);
          return;
        }
        this.subscriptions.delete(id);
        this.broker.topic(s.topic)?.unsubscribe(s);
        this.send(frameHeader(FrameType.OK, id, 0, 0, 0));
        return;
      }
      default:
        this.fail(0, ErrorCode.UNKNOWN_TYPE, `unknown frame type ${type}`);
    }
  }

  private publish(v: DataView, bytes: Uint8Array, at: number, length: number, handle: number, batchNumber: number, count: number, reused: boolean): void {
    const publisher = this.publishers.get(handle);
    if (publisher === undefined) {
      this.fail(handle, ErrorCode.UNKNOWN_HANDLE, `no publisher ${handle}`);
      return;
    }
    // Not acknowledged, so not lost: the publisher knows this batch was refused.
    if (this.broker.shuttingDown) {
      this.fail(handle, ErrorCode.SHUTTING_DOWN, 'the broker is shutting down');
      return;
    }
    const problem = checkBatch(v, at, length, count);
    if (problem !== null) {
      this.fail(handle, ErrorCode.BAD_RECORD, problem);
      return;
    }
    const bodyBytes = length - FRAME_HEADER_BYTES;
    // The window is the client's to respect; one that ignores it is cut off, not buffered.
    if (publisher.outstanding > this.broker.options.windowBytes) {
      this.fail(handle, ErrorCode.LIMIT, `published past its window of ${this.broker.options.windowBytes} bytes without waiting for CREDIT`);
      return;
    }
    // The topic keeps the records until every reader is done with them. A frame inside one
    // socket chunk is kept as a view of that chunk (Node reads into a fresh buffer each time, so
    // nothing overwrites it); one that spanned chunks sits in the reader's reused buffer and is
    // copied. Copying every batch cost the broker ~15% of a core in garbage collection at
    // 500k msg/s (64 MB/s of short-lived buffers), measured with --cpu-prof.
    const body = bytes.subarray(at + FRAME_HEADER_BYTES, at + length);
    let records: Uint8Array = body;
    if (reused) {
      records = Buffer.allocUnsafe(bodyBytes);
      records.set(body);
    }
    publisher.outstanding += bodyBytes;
    this.broker.stats.published += count;
    // Acknowledged (PUBACK) once stored as the broker's policy says: at once in memory, after
    // the fdatasync that covers it with a durable log.
    publisher.topic.publish(records, count, publisher, () => publisher.accepted(batchNumber));
  }

  private ack(v: DataView, at: number, length: number, id: number, count: number): void {
    const s = this.subscriptions.get(id);
    if (s === undefined) {
      this.fail(id, ErrorCode.UNKNOWN_HANDLE, `no subscription ${id}`);
      return;
    }
    const tags: number[] = [];
    for (let p = at + FRAME_HEADER_BYTES; p + 4 <= at + length; p += 4) {
      const tag = v.getUint32(p, true);
      if (tag !== 0) tags.push(tag);
    }
    s.acknowledge(count, tags);
    this.broker.topic(s.topic)?.pump();
  }

  private openPublisher(request: number, name: string): void {
    if (!NAME_PATTERN.test(name)) {
      this.fail(request, ErrorCode.BAD_NAME, `topic name ${JSON.stringify(name)} is not ${NAME_PATTERN}`);
      return;
    }
    if (this.publishers.size >= LIMITS.handlesPerConnection) {
      this.fail(request, ErrorCode.LIMIT, 'too many publishers on one connection');
      return;
    }
    const topic = this.broker.topic(name);
    if (topic === undefined) {
      this.fail(request, ErrorCode.LIMIT, 'too many topics');
      return;
    }
    const handle = this.nextHandle++;
    this.publishers.set(handle, new Publisher(handle, topic, this));
    this.send(frameHeader(FrameType.OK, request, handle, 0, 0));
    this.send(frameHeader(FrameType.CREDIT, handle, this.broker.options.windowBytes, 0, 0));
  }

  private subscribe(request: number, credit: number, spec: string): void {
    const [name, groupName, extra] = spec.split('\0');
    if (!NAME_PATTERN.test(name)) {
      this.fail(request, ErrorCode.BAD_NAME, `topic name ${JSON.stringify(name)} is not ${NAME_PATTERN}`);
      return;
    }
    if (extra !== undefined || (groupName !== undefined && !NAME_PATTERN.test(groupName))) {
      this.fail(request, ErrorCode.BAD_NAME, `group name ${JSON.stringify(groupName)} is not ${NAME_PATTERN}`);
      return;
    }
    if (credit === 0 || credit > 1_000_000) {
      this.fail(request, ErrorCode.BAD_FRAME, `credit ${credit} is outside 1..1000000 messages`);
      return;
    }
    if (this.subscriptions.size >= LIMITS.handlesPerConnection) {
      this.fail(request, ErrorCode.LIMIT, 'too many subscriptions on one connection');
      return;
    }
    const topic = this.broker.topic(name);
    if (topic === undefined) {
      this.fail(request, ErrorCode.LIMIT, 'too many topics');
      return;
    }
    const id = this.nextHandle++;
    const group = groupName !== undefined ? topic.group(groupName) : null;
    const s = new Subscription(id, name, this, credit, topic.log.endOffset, group);
    this.subscriptions.set(id, s);
    // OK first: the client must know the id before the first DELIVER for it arrives.
    this.send(frameHeader(FrameType.OK, request, id, 0, 0));
    topic.subscribe(s);
  }

  deliver(subscription: number, tag: number, batch: StoredBatch, redelivered: boolean): void {
    if (this.closed) return;
    this.broker.stats.delivered += batch.count;
    this.send(frameHeader(FrameType.DELIVER, subscription, tag, batch.count, batch.records.length, redelivered ? FrameFlags.REDELIVERED : 0));
    this.socket.write(batch.records);
  }

  /** Queues a frame; everything queued in one turn of the event loop goes out in one write. */
  send(frame: Uint8Array): void {
    if (this.closed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
  }

  /** Says why in an ERROR frame, then closes this connection (and only it). */
  fail(id: number, code: ErrorCodeValue, message: string): void {
    if (this.closed) return;
    this.broker.stats.protocolErrors++;
    this.socket.write(textFrame(FrameType.ERROR, id, code, message));
    this.closed = true;
    this.socket.end();
    // A peer that never reads its error must not hold the socket open.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.detach();
  }

  /** Leaves every topic: group members hand their unacknowledged batches back. */
  detach(): void {
    for (const s of this.subscriptions.values()) this.broker.topic(s.topic)?.unsubscribe(s);
    this.subscriptions.clear();
    this.publishers.clear();
  }

  sweep(now: number): void {
    if (this.closed) return;
    const limit = this.broker.options.frameTimeoutMs;
    if (!this.hello && now - this.openedAt > limit) {
      this.fail(0, ErrorCode.STALLED, `no HELLO within ${limit} ms`);
      return;
    }
    if (this.midFrameSince > 0 && now - this.midFrameSince > limit) {
      this.fail(0, ErrorCode.STALLED, `a frame left incomplete for ${limit} ms`);
      return;
    }
    for (const s of this.subscriptions.values()) {
      if (s.credit <= 0 && now - s.lastProgressAt > this.broker.options.slowConsumerMs) {
        this.fail(
          s.id,
          ErrorCode.SLOW_CONSUMER,
          `subscription ${s.id} acknowledged nothing for ${this.broker.options.slowConsumerMs} ms with its credit spent`,
        );
        return;
      }
    }
  }

  /** Graceful close: what is queued is written, then the socket ends; cut off after `graceMs`. */
  end(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.closed = true;
      this.detach();
      this.socket.end();
      setTimeout(() => this.socket.destroy(), graceMs).unref();
    });
  }
}
