/**
 * The NanoMQ broker: a TCP (or TLS) server speaking broker/frames.ts.
 *
 *   publisher ──PUBLISH──▶ ┌────────── broker ──────────┐ ──DELIVER──▶ subscriber (every message)
 *             ◀─PUBACK──── │ topic: log ─ subscriptions │ ◀──ACK──────
 *             ◀─CREDIT──── │        └──── groups ───────│ ──DELIVER──▶ group member (its share)
 *                          └────────────────────────────┘ ◀──ACK──────
 *
 * Every connection starts with HELLO (protocol version, and the token when the broker has one).
 * Bad input closes only the connection that sent it, after an ERROR frame saying why; a request
 * over a quota is refused alone (broker/connection.ts). Everything a client can make the broker
 * hold is bounded by broker/limits.ts, and the broker owns the limits that span connections: the
 * input budget for partial frames, the pool of buffered bytes the publishers' windows come from,
 * the topic and group counts; its sweep closes stalled senders and slow consumers and deletes
 * topics and groups nobody needs.
 *
 * Safe by default: it listens on loopback; any other address needs a token (checked by
 * `startBroker`), and should have TLS (`tls`), or the token crosses the network in clear. One
 * event loop does all the work, so there are no locks: a frame is handled whole before the next.
 */
import { timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6, createServer as netServer, type Server, type Socket } from 'node:net';
import { createServer as tlsServer } from 'node:tls';
import { Connection, type ConnectionHost } from './connection.js';
import { ErrorCode } from './frames.js';
import { type BrokerLimits, DEFAULT_LIMITS, limitsProblem } from './limits.js';
import { SharedReads } from './shared-reads.js';
import { SpanPool } from './span-pool.js';
import { MemoryStorage, type Storage } from './storage.js';
import { Topic } from './topic.js';

export interface BrokerOptions extends Partial<BrokerLimits> {
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (default) picks a free one (read it back from `address`). */
  port?: number;
  /** Required in every HELLO when set; required to listen beyond loopback. */
  token?: string;
  /** Speak TLS with this certificate and key (PEM): the URL is then tls://. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  storage?: Storage;
}

export class BrokerError extends Error {
  constructor(
    message: string,
    /** The option at fault: 'host', 'tls', or a limit's name (broker/limits.ts). */
    readonly option: string,
  ) {
    super(message);
  }
}

/** True for an address on this machine's loopback (127.0.0.0/8, ::1, ::ffff:127.x): addresses only, never a name. */
export function isLoopback(host: string): boolean {
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) {
    const h = host.toLowerCase();
    return h === '::1' || h === '0:0:0:0:0:0:0:1' || (h.startsWith('::ffff:') && isIPv4(h.slice(7)) && h.startsWith('::ffff:127.'));
  }
  return false;
}

/** Counters the broker keeps about itself (printed at exit, and by tests). */
export interface BrokerStats {
  /** Frames handled (read whole and acted on, an error included). */
  frames: number;
  connections: number;
  published: number;
  delivered: number;
  redelivered: number;
  /** Connections closed for breaking the protocol. */
  protocolErrors: number;
  /** Requests refused for a quota (the connection went on). */
  refused: number;
  /** Bytes of published batches the topics keep. */
  retainedBytes: number;
  /** Memory held for incomplete frames, all connections together. */
  inputBytes: number;
  /** The input budget taken: the lengths of the incomplete frames being read, what the paused ones hold. */
  inputReservedBytes: number;
  /** Bytes written to sockets and not yet sent, all connections together. */
  outboundBytes: number;
  /** Windows reserved by publishing connections, in bytes. */
  reservedBytes: number;
  topics: number;
  groups: number;
}

export class Broker implements ConnectionHost {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly topics = new Map<string, Topic>();
  private readonly storage: Storage;
  private readonly sweeper: NodeJS.Timeout;
  readonly limits: BrokerLimits;
  readonly options: { host: string; port: number; token: string | undefined; tls: boolean };
  readonly stats = { frames: 0, published: 0, delivered: 0, protocolErrors: 0, refused: 0 };
  /** The one buffer every plain-TCP connection is read into (shared-reads.ts). */
  readonly sharedReads = new SharedReads();
  /** Memory for frames that span reads, reused (span-pool.ts): at most two windows (and the input budget) spare. */
  readonly spans: SpanPool;
  /**
   * Told the size of every buffer outside V8's heap made for one read or one frame and dropped
   * once handled: socket reads into buffers of their own (TLS, or a Node without shared reads),
   * the copies of frames that span reads not taken from the span pool, and what the pool drops
   * (main.ts gives it to the heap goal); none by default.
   */
  transientObserver: ((bytes: number) => void) | null = null;
  private closing = false;
  private inputHeld = 0;
  /** Connections paused until the input budget has room, oldest first. */
  private readonly waitingForInput: Connection[] = [];
  private reserved = 0;

  private constructor(options: BrokerOptions, limits: BrokerLimits) {
    this.limits = limits;
    this.spans = new SpanPool(Math.min(2 * limits.windowBytes, limits.inputBudgetBytes), (bytes) => this.noteTransient(bytes));
    this.options = { host: options.host ?? '127.0.0.1', port: options.port ?? 0, token: options.token, tls: options.tls !== undefined };
    this.storage = options.storage ?? new MemoryStorage();
    // A durable storage's topics and groups, as the last run left them.
    for (const { name, groups } of this.storage.restored()) {
      const topic = new Topic(name, this.storage.topic(name));
      for (const [group, committed] of groups) topic.restoreGroup(group, committed);
      this.topics.set(name, topic);
    }
    const onSocket = (socket: Socket) => this.accept(socket);
    this.server =
      options.tls === undefined
        ? netServer({ noDelay: true }, onSocket)
        : // A handshake that never finishes is a connection without HELLO: the same time limit.
          tlsServer({ cert: options.tls.cert, key: options.tls.key, handshakeTimeout: limits.frameTimeoutMs, noDelay: true }, onSocket);
    // Past this the kernel-accepted socket is closed at once, before any TLS work; up to it,
    // connections past maxConnections are told why (accept).
    this.server.maxConnections = limits.maxConnections + 128;
    const tick = Math.max(10, Math.min(1000, limits.frameTimeoutMs / 2, limits.slowConsumerMs / 4, limits.groupIdleMs / 4, limits.topicIdleMs / 2 || 1000));
    this.sweeper = setInterval(() => this.sweep(), tick);
    this.sweeper.unref();
  }

  /** Starts a broker; resolves once it listens. Refuses a non-loopback address without a token, and limits that contradict each other. */
  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const host = options.host ?? '127.0.0.1';
    if (!isLoopback(host) && !options.token) {
      throw new BrokerError(`listening on ${host} (beyond loopback) needs a token (--token): anyone who can reach it could publish and read`, 'host');
    }
    const limits: BrokerLimits = { ...DEFAULT_LIMITS };
    for (const key of Object.keys(DEFAULT_LIMITS) as (keyof BrokerLimits)[]) {
      const value = options[key];
      if (value !== undefined) (limits as Record<keyof BrokerLimits, number>)[key] = value;
    }
    const problem = limitsProblem(limits);
    if (problem !== null) throw new BrokerError(problem.message, problem.option);
    let broker: Broker;
    try {
      broker = new Broker(options, limits);
    } catch (error) {
      // A certificate or key that TLS cannot use.
      throw new BrokerError((error as Error).message, 'tls');
    }
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
    // After listening, an error (EMFILE on accept, say) is the broker's to report, not a crash.
    broker.server.on('error', (error) => process.stderr.write(`nanomq broker: ${error.message}\n`));
    return broker;
  }

  get address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new BrokerError('not listening', 'host');
    return { host: a.address, port: a.port };
  }

  get url(): string {
    const { host, port } = this.address;
    return `${this.options.tls ? 'tls' : 'tcp'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  statsNow(): BrokerStats {
    let retainedBytes = 0;
    let redelivered = 0;
    let groups = 0;
    for (const t of this.topics.values()) {
      retainedBytes += t.log.retainedBytes;
      groups += t.groups.size;
      for (const g of t.groups.values()) redelivered += g.redelivered;
    }
    let outboundBytes = 0;
    let inputBytes = 0;
    for (const c of this.connections) {
      outboundBytes += c.pendingOutput;
      inputBytes += c.heldInput;
    }
    return {
      ...this.stats,
      connections: this.connections.size,
      redelivered,
      retainedBytes,
      inputBytes,
      inputReservedBytes: this.inputHeld,
      outboundBytes,
      reservedBytes: this.reserved,
      topics: this.topics.size,
      groups,
    };
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

  /** The topic of that name if it exists. */
  topic(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  openTopic(name: string): Topic | string {
    let topic = this.topics.get(name);
    if (topic === undefined) {
      if (this.topics.size >= this.limits.maxTopics) return `the broker holds its limit of ${this.limits.maxTopics} topics (--max-topics)`;
      try {
        topic = new Topic(name, this.storage.topic(name));
      } catch (error) {
        // Out of file descriptors or disk for a new log: this request fails, the broker goes on.
        return `cannot open topic ${name}: ${(error as Error).message}`;
      }
      this.topics.set(name, topic);
    }
    return topic;
  }

  topicReleased(topic: Topic): void {
    if (this.limits.topicIdleMs === 0 && !topic.inUse) this.deleteTopic(topic);
  }

  groupRefused(topicName: string, group: string): string | null {
    const topic = this.topics.get(topicName);
    if (topic?.groups.has(group)) return null;
    if (topic !== undefined && topic.groups.size >= this.limits.maxGroupsPerTopic)
      return `topic ${topic.name} holds its limit of ${this.limits.maxGroupsPerTopic} consumer groups`;
    let groups = 0;
    for (const t of this.topics.values()) groups += t.groups.size;
    if (groups >= this.limits.maxGroups) return `the broker holds its limit of ${this.limits.maxGroups} consumer groups (--max-groups)`;
    return null;
  }

  reserveWindow(): boolean {
    if (this.reserved + this.limits.windowBytes > this.limits.bufferedBytes) return false;
    this.reserved += this.limits.windowBytes;
    return true;
  }

  releaseWindow(): void {
    this.reserved -= this.limits.windowBytes;
  }

  noteTransient(bytes: number): void {
    this.transientObserver?.(bytes);
  }

  /**
   * The input budget: every incomplete frame that is being read has its whole length reserved
   * as its header arrives, so what is read never takes the broker past the budget. A frame that
   * does not fit, or that arrives while others wait, is not read: its connection gives back its
   * whole reservation and waits, holding only the part of the frame already copied out of
   * the read that carried its start (not counted: at most one socket read per waiting
   * connection), until the frames being read
   * complete or time out; then the oldest waiter goes first. Only frames being read hold budget,
   * and they always have their room, so they finish: the budget cannot deadlock or starve a
   * waiter.
   */
  reserveInput(connection: Connection, wanted: number): void {
    const had = connection.reservedInput;
    if (wanted <= had || (this.waitingForInput.length === 0 && this.inputHeld - had + wanted <= this.limits.inputBudgetBytes)) {
      this.inputHeld += wanted - had;
      connection.reservedInput = wanted;
      if (wanted < had) this.admitWaiting();
      return;
    }
    this.inputHeld -= had;
    connection.reservedInput = 0;
    connection.pauseInput();
    this.waitingForInput.push(connection);
    this.admitWaiting();
  }

  releaseInput(connection: Connection): void {
    this.inputHeld -= connection.reservedInput;
    connection.reservedInput = 0;
    const waiting = this.waitingForInput.indexOf(connection);
    if (waiting >= 0) this.waitingForInput.splice(waiting, 1);
    this.admitWaiting();
  }

  private admitWaiting(): void {
    while (this.waitingForInput.length > 0) {
      const next = this.waitingForInput[0];
      const wanted = next.wantedInput;
      if (this.inputHeld + wanted > this.limits.inputBudgetBytes) return;
      this.waitingForInput.shift();
      this.inputHeld += wanted;
      next.reservedInput = wanted;
      next.resumeInput();
    }
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
    if (this.connections.size >= this.limits.maxConnections) {
      connection.fail(0, ErrorCode.LIMIT, `the broker serves at most ${this.limits.maxConnections} connections`);
      return;
    }
    this.connections.add(connection);
    socket.once('close', () => {
      this.connections.delete(connection);
      connection.detach();
    });
  }

  private deleteTopic(topic: Topic): void {
    if (this.topics.get(topic.name) !== topic) return;
    this.topics.delete(topic.name);
    try {
      this.storage.delete(topic.name);
    } catch (error) {
      process.stderr.write(`nanomq broker: could not remove unused topic ${topic.name}: ${(error as Error).message}\n`);
    }
  }

  /** Closes stalled senders and slow consumers; drops groups left empty and deletes topics left unused, each past its time. */
  private sweep(): void {
    const now = Date.now();
    for (const c of this.connections) c.sweep(now);
    this.spans.sweep();
    for (const topic of [...this.topics.values()]) {
      for (const group of [...topic.groups.values()]) {
        if (group.emptySince > 0 && now - group.emptySince > this.limits.groupIdleMs) topic.dropGroup(group.name);
      }
      if (topic.inUse) topic.unusedSince = 0;
      else if (topic.unusedSince === 0) topic.unusedSince = now;
      if (topic.unusedSince > 0 && now - topic.unusedSince >= this.limits.topicIdleMs) this.deleteTopic(topic);
    }
  }
}
