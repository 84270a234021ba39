/**
 * The NanoMQ broker's client, used by the harness's `broker` backend and by the examples.
 *
 *   const client = await BrokerClient.connect('tcp://127.0.0.1:7480');
 *   const publisher = await client.openPublisher('orders');
 *   await publisher.send(new TextEncoder().encode('hello'));         // one message
 *   await client.subscribe('orders', { group: 'billing' }, (bytes, offset, length) => { … });
 *
 * Publishing is zero-copy into the client's send buffer: `claim` reserves room for a batch of
 * records, the caller writes envelopes at `offsetOf(i)` of `buffer`, and `commit` frames the
 * batch. Frames committed in one turn of the event loop go out in one socket write (or sooner,
 * once 64 KiB are waiting, or at `flush()`). A connection's publishers share one window of bytes
 * in the broker: `claim` takes no more records than the credit left covers, returns 0 when not
 * even one fits, and `waitForCredit` resolves when the broker has given enough back, which it
 * does as subscribers consume.
 *
 * Receiving: every DELIVER frame is copied once into 8-aligned memory and its records handed to
 * the subscription's handler as (bytes, offset, length), valid during the call. When the handler
 * returns, the messages count as handled: credit goes back to the broker and, in a group, the
 * batch is acknowledged (at least once: a member that dies before that gets its batches
 * redelivered to the others). A handler that throws is treated as that death: the connection
 * is cut before the batch is acknowledged, and the client fails with a BrokerClientError whose
 * `cause` is what the handler threw.
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { EnvelopeCodec, Flags, HEADER_BYTES, payloadCrc } from '../wire/envelope.js';
import { FrameReader } from './frame-reader.js';
import {
  BATCH_CREDIT_OVERHEAD,
  batchCredit,
  bodyText,
  envelopeBytesAt,
  FRAME_HEADER_BYTES,
  FrameFlags,
  FrameHeaderReader,
  Frames,
  FrameType,
  MAX_BATCH,
  padTo8,
  writeFrameHeader,
} from './frames.js';

export class BrokerClientError extends Error {
  constructor(
    message: string,
    readonly code?: number,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'BrokerClientError';
  }
}

/** A subscription's handler threw: carried out of the frame reader to cut the connection. */
class HandlerThrew extends Error {
  constructor(cause: unknown) {
    super('a subscription handler threw', { cause });
  }
}

/** Sees one delivered message in place: valid only during the call. */
export type RecordHandler = (bytes: Uint8Array, offset: number, length: number, redelivered: boolean) => void;

export interface SubscribeOptions {
  /** Join this consumer group (its members share the topic's messages) instead of receiving every message. */
  group?: string;
  /** Messages the broker may send ahead of acknowledgements (default 8192). */
  credit?: number;
}

/** What `BrokerClient.connect` takes besides the address. */
export interface ConnectOptions {
  /** The broker's token, if it wants one. */
  token?: string;
  /** tls:// only: the certificate authority (PEM) to trust instead of the system's, e.g. a self-signed broker's own certificate. */
  ca?: string | Buffer;
  /** tls:// only: false accepts any certificate (testing only: the token could then go to anyone). Default true. */
  rejectUnauthorized?: boolean;
}

/** `tcp://host:port` or `tls://host:port` → scheme, host and port; throws BrokerClientError for anything else. */
export function parseBrokerUrl(url: string): { tls: boolean; host: string; port: number } {
  const m = /^(tcp|tls):\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(url);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new BrokerClientError(`broker address ${JSON.stringify(url)} is not tcp://host:port or tls://host:port`);
  return { tls: m[1] === 'tls', host: m[2].replace(/^\[|\]$/g, ''), port };
}

const SEND_BUFFER_BYTES = 256 * 1024;
/** What one socket read may bring (as Node reads by default): the client's one read buffer. */
const READ_BUFFER_BYTES = 64 * 1024;
const FLUSH_FROM_BYTES = 64 * 1024;

export class BrokerClient {
  private readonly reader: FrameReader;
  private readonly requests = new Map<number, { resolve: (arg: number) => void; reject: (e: Error) => void }>();
  private readonly publishers = new Map<number, Publisher>();
  private readonly subscriptions = new Map<number, ClientSubscription>();
  private nextRequest = 1;
  private failure: Error | null = null;
  private readonly header = new FrameHeaderReader();
  /** Subscriptions with acknowledgements to send at the end of this chunk. */
  private readonly acking = new Set<ClientSubscription>();

  // The send buffer: frames are written at `used`; [sentUpTo, used) waits for the socket.
  buffer = new Uint8Array(new ArrayBuffer(SEND_BUFFER_BYTES));
  private used = 0;
  private sentUpTo = 0;
  private flushScheduled = false;
  /** Called when the connection fails or the broker closes it (after pending calls are rejected). */
  onClose: ((error: Error | null) => void) | null = null;

  private constructor(
    private readonly socket: Socket,
    /** True when the socket reads into a buffer of the client's (`onread`, see connect); else 'data'. */
    readsIntoOwnBuffer: boolean,
  ) {
    this.reader = new FrameReader((bytes, at, length) => this.onFrame(bytes, at, length), true);
    if (!readsIntoOwnBuffer) socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (error) => this.fail(new BrokerClientError(`connection: ${error.message}`)));
    socket.on('close', () => this.fail(null));
  }

  /** Connects (over TLS for tls:// addresses) and says HELLO, with the token if the broker wants one. */
  static async connect(url: string, options: ConnectOptions = {}): Promise<BrokerClient> {
    const { tls, host, port } = parseBrokerUrl(url);
    // Plain TCP reads into one buffer of this client's, reused (Node's `onread`), rather than a
    // new 64 KiB buffer per read left for the garbage collector; the reader copies every frame
    // out of it (aligned). The client is made in the same turn as 'connect', before any read
    // can be handled; were a read to come first, it would wait in `early`, not be lost.
    const readBuffer = tls ? null : Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const reading: { client: BrokerClient | null; early: Buffer[] } = { client: null, early: [] };
    const onRead = (nread: number, buffer: Uint8Array): boolean => {
      const chunk = buffer.subarray(0, nread);
      if (reading.client !== null) reading.client.onData(chunk);
      else reading.early.push(Buffer.from(chunk));
      return true;
    };
    const socket =
      readBuffer === null
        ? // A certificate names hosts, not addresses: SNI only for a name.
          tlsConnect({ host, port, ca: options.ca, rejectUnauthorized: options.rejectUnauthorized ?? true, servername: isIP(host) ? undefined : host })
        : netConnect({ host, port, onread: { buffer: readBuffer, callback: onRead } });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once(tls ? 'secureConnect' : 'connect', resolve);
      socket.once('error', (e) => reject(new BrokerClientError(`cannot reach the broker at ${url}: ${e.message}`)));
    });
    const client = new BrokerClient(socket, readBuffer !== null);
    reading.client = client;
    for (const chunk of reading.early.splice(0)) client.onData(chunk);
    await client.request(0, () => socket.write(Frames.hello(options.token ?? '')));
    return client;
  }

  async openPublisher(topic: string): Promise<Publisher> {
    const request = this.nextRequest++;
    // Registered as the OK is read: the CREDIT that follows it in the same chunk must find it.
    const handle = await this.request(
      request,
      () => this.socket.write(Frames.openPublisher(request, topic)),
      (arg) => this.publishers.set(arg, new Publisher(this, arg)),
    );
    return this.publishers.get(handle) as Publisher;
  }

  async subscribe(topic: string, options: SubscribeOptions, handler: RecordHandler): Promise<ClientSubscription> {
    const request = this.nextRequest++;
    const credit = options.credit ?? 8192;
    let made: ClientSubscription | undefined;
    const id = await this.request(
      request,
      () => this.socket.write(Frames.subscribe(request, credit, topic, options.group)),
      (arg) => {
        // Registered as the OK is read, before any DELIVER for it that follows in the same chunk.
        made = new ClientSubscription(this, arg, handler);
        this.subscriptions.set(arg, made);
      },
    );
    return made ?? (this.subscriptions.get(id) as ClientSubscription);
  }

  /**
   * Leaves a subscription; in a group, its unacknowledged messages go to the other members. The
   * handshake: what was handled is acknowledged first, then UNSUBSCRIBE; deliveries still on their
   * way are not handed to the handler (the broker gives a group's back to the others) and resolve
   * nothing until the broker's OK, after which none come.
   */
  async unsubscribe(subscription: ClientSubscription): Promise<void> {
    this.flushAcks();
    subscription.leaving = true;
    this.acking.delete(subscription);
    await this.request(subscription.id, () => this.socket.write(Frames.unsubscribe(subscription.id)));
    this.subscriptions.delete(subscription.id);
  }

  /** Sends what is committed, then closes the connection once the broker has it. */
  async close(): Promise<void> {
    this.flush();
    this.flushAcks();
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  /** Cuts the connection without a goodbye, as a crash would. */
  destroy(): void {
    this.socket.destroy();
  }

  get closed(): boolean {
    return this.failure !== null || this.socket.destroyed;
  }

  // ── sending ─────────────────────────────────────────────────────────────────────────────────

  /** Room for one frame of `bytes` at `used`; returns its start. Full buffers move to a new one. */
  reserve(bytes: number): number {
    if (this.used + bytes > this.buffer.length) {
      this.flush();
      // The socket may still hold views of the old buffer: writing on in a new one is safe.
      this.buffer = new Uint8Array(new ArrayBuffer(Math.max(SEND_BUFFER_BYTES, bytes)));
      this.used = 0;
      this.sentUpTo = 0;
    }
    return this.used;
  }

  /** The frame written at `start` (`bytes` long) is complete: it goes out with the next write. */
  committed(bytes: number): void {
    this.used += bytes;
    if (this.used - this.sentUpTo >= FLUSH_FROM_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Writes every committed frame now. */
  flush(): void {
    if (this.used === this.sentUpTo || this.socket.destroyed) return;
    this.socket.write(this.buffer.subarray(this.sentUpTo, this.used));
    this.sentUpTo = this.used;
  }

  // ── receiving ───────────────────────────────────────────────────────────────────────────────

  private request(id: number, write: () => void, onOk?: (arg: number) => void): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.requests.set(id, {
        resolve: (arg) => {
          onOk?.(arg);
          resolve(arg);
        },
        reject,
      });
      write();
    });
  }

  /** `chunk` may be the client's read buffer, overwritten by the next read: the reader copies frames out. */
  private onData(chunk: Uint8Array): void {
    try {
      this.reader.push(chunk);
    } catch (error) {
      // Cut before anything is acknowledged: the batch whose handler threw is the broker's to
      // give again (in a group, to another member), as if this client had died.
      this.fail(
        error instanceof HandlerThrew
          ? new BrokerClientError(`a subscription handler threw: ${String((error.cause as Error)?.message ?? error.cause)}`, undefined, error.cause)
          : new BrokerClientError(`bad frame from the broker: ${(error as Error).message}`),
      );
      this.socket.destroy();
      return;
    }
    // What the handlers published (a ping-pong echo) goes out before the acknowledgements.
    this.flush();
    this.flushAcks();
  }

  private onFrame(bytes: Uint8Array, at: number, length: number): void {
    const header = this.header;
    header.read(bytes, at);
    const { view: v, type, id, arg } = header;
    switch (type) {
      case FrameType.DELIVER: {
        const s = this.subscriptions.get(id);
        if (s === undefined || s.leaving) return;
        const count = header.count;
        const redelivered = (header.flags & FrameFlags.REDELIVERED) !== 0;
        let p = at + FRAME_HEADER_BYTES;
        try {
          for (let i = 0; i < count; i++) {
            const envelope = envelopeBytesAt(v, p);
            s.handler(bytes, p, envelope, redelivered);
            p += padTo8(envelope);
          }
        } catch (error) {
          throw new HandlerThrew(error);
        }
        s.handled(count, arg);
        this.acking.add(s);
        return;
      }
      case FrameType.CREDIT:
        // The window is the connection's: credit on any handle is every publisher's.
        this.credited(arg);
        return;
      case FrameType.PUBACK:
        this.publishers.get(id)?.acknowledged(arg);
        return;
      case FrameType.OK: {
        const pending = this.requests.get(id);
        this.requests.delete(id);
        pending?.resolve(arg);
        return;
      }
      case FrameType.ERROR: {
        const error = new BrokerClientError(`broker: ${bodyText(bytes, at, length)}`, arg);
        const pending = this.requests.get(id);
        if (pending) {
          this.requests.delete(id);
          pending.reject(error);
        } else this.fail(error);
        return;
      }
      default:
        this.fail(new BrokerClientError(`unknown frame type ${type} from the broker`));
        this.socket.destroy();
    }
  }

  /** One ACK per subscription for everything its handler took in this chunk. */
  private flushAcks(): void {
    if (this.acking.size === 0 || this.socket.destroyed) return;
    for (const s of this.acking) this.socket.write(Frames.ack(s.id, s.takeCount(), s.takeTags()));
    this.acking.clear();
  }

  private fail(error: Error | null): void {
    if (this.failure) return;
    this.failure = error ?? new BrokerClientError('connection closed');
    for (const { reject } of this.requests.values()) reject(this.failure);
    this.requests.clear();
    this.credited(0);
    this.onClose?.(error);
  }

  /** Why the connection is unusable: the broker's error, or that it closed. */
  closedError(): Error {
    return this.failure ?? new BrokerClientError('connection closed');
  }

  // ── the publish window, shared by this connection's publishers ─────────────────────────────

  /** Bytes this connection's publishers may still publish before waiting for CREDIT. */
  publishCredit = 0;
  private creditWaiters: { bytes: number; resolve: () => void }[] = [];

  private credited(bytes: number): void {
    this.publishCredit += bytes;
    const closed = this.closed;
    const waiters = this.creditWaiters;
    this.creditWaiters = [];
    for (const w of waiters) {
      if (closed || this.publishCredit >= w.bytes) w.resolve();
      else this.creditWaiters.push(w);
    }
    if (closed) for (const p of this.publishers.values()) p.connectionClosed();
  }

  /** Resolves once `bytes` of credit are available (or the connection closed). */
  waitForCredit(bytes: number): Promise<void> {
    if (this.publishCredit >= Math.max(1, bytes) || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.creditWaiters.push({ bytes: Math.max(1, bytes), resolve }));
  }

  get error(): Error | null {
    return this.failure;
  }
}

/** A subscription as the client sees it: its handler, and what it owes the broker in acknowledgements. */
export class ClientSubscription {
  private count = 0;
  private tags: number[] = [];
  received = 0;
  /** UNSUBSCRIBE sent: deliveries still arriving are not handled. */
  leaving = false;

  constructor(
    private readonly client: BrokerClient,
    readonly id: number,
    readonly handler: RecordHandler,
  ) {}

  handled(count: number, tag: number): void {
    this.count += count;
    this.received += count;
    if (tag !== 0) this.tags.push(tag);
  }

  takeCount(): number {
    // An ACK carries at most 65535 in its count field; the rest waits for the next.
    const n = Math.min(this.count, 0xffff);
    this.count -= n;
    return n;
  }

  takeTags(): number[] {
    const t = this.tags;
    this.tags = [];
    return t;
  }

  unsubscribe(): Promise<void> {
    return this.client.unsubscribe(this);
  }
}

/** Publishes batches to one topic, in the window its connection's publishers share. */
export class Publisher {
  /** The number of the last batch the broker acknowledged (-1: none yet). */
  acked = -1;
  private batches = 0;
  private claimStart = -1;
  private claimCount = 0;
  private recordSize = 0;
  /** The credit one record of the last claim refused would take (its bytes and the batch's overhead): what waiting waits for. */
  private needBytes = 0;
  private ackWaiters: { batch: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private codec: EnvelopeCodec | null = null;
  private sequence = 0;

  constructor(
    private readonly client: BrokerClient,
    readonly handle: number,
  ) {}

  /** Bytes this publisher (with the others on its connection) may still publish. */
  get credit(): number {
    return this.client.publishCredit;
  }

  /** A claim would get at least one record now (as far as the last refused claim's size tells). */
  get ready(): boolean {
    return this.credit > 0 && this.credit >= this.needBytes;
  }

  /** The send buffer that `offsetOf` refers to (read it after each claim: it moves when full). */
  get buffer(): Uint8Array {
    return this.client.buffer;
  }

  /**
   * Reserves room for up to `max` (≤ 256) records of `length` envelope bytes each, as many as the
   * credit covers; returns how many, 0 when not even one fits. Nothing is sent before `commit`.
   */
  claim(max: number, length: number): number {
    if (this.claimStart >= 0) throw new BrokerClientError('claim while the previous claim is still open');
    if (this.client.closed) throw this.client.closedError();
    const size = padTo8(length);
    const n = Math.min(max, MAX_BATCH, Math.floor((this.credit - BATCH_CREDIT_OVERHEAD) / size));
    if (n <= 0) {
      this.needBytes = batchCredit(size);
      return 0;
    }
    this.needBytes = 0;
    this.recordSize = size;
    this.claimStart = this.client.reserve(FRAME_HEADER_BYTES + n * size);
    this.claimCount = n;
    return n;
  }

  offsetOf(i: number): number {
    return this.claimStart + FRAME_HEADER_BYTES + i * this.recordSize;
  }

  /** Frames the claimed batch; it is sent by the end of this turn of the event loop. Returns its batch number. */
  commit(): number {
    if (this.claimStart < 0) return -1;
    const body = this.claimCount * this.recordSize;
    this.frame(this.claimStart, this.claimCount, body);
    this.claimStart = -1;
    return this.batches - 1;
  }

  abort(): void {
    this.claimStart = -1;
  }

  flush(): void {
    this.client.flush();
  }

  /** Resolves when the window has room for what the last refused claim wanted (or the connection closed: then `claim` throws). */
  waitForCredit(): Promise<void> {
    return this.client.waitForCredit(this.needBytes);
  }

  /** The connection closed: whoever waits for an acknowledgement is told. */
  connectionClosed(): void {
    for (const w of this.ackWaiters) w.reject(this.client.closedError());
    this.ackWaiters = [];
  }

  acknowledged(batch: number): void {
    this.acked = batch;
    const done = this.ackWaiters.filter((w) => w.batch <= batch);
    this.ackWaiters = this.ackWaiters.filter((w) => w.batch > batch);
    for (const w of done) w.resolve();
  }

  /** Resolves once the broker has acknowledged batch `batch` (it is stored as the broker's policy says). */
  whenAcknowledged(batch: number): Promise<void> {
    if (batch <= this.acked) return Promise.resolve();
    if (this.client.closed) return Promise.reject(this.client.closedError());
    this.flush();
    return new Promise((resolve, reject) => this.ackWaiters.push({ batch, resolve, reject }));
  }

  /**
   * Publishes payloads in batches of up to 256 envelopes, each no larger than the credit left
   * (this publisher numbers them from 0, producer id `producerId`, payload CRC32 included), waiting
   * for credit as needed; resolves when the broker has acknowledged the last batch.
   */
  async send(payloads: Uint8Array | Uint8Array[], producerId = 0): Promise<void> {
    const list = Array.isArray(payloads) ? payloads : [payloads];
    let batch = -1;
    for (let from = 0; from < list.length; ) {
      await this.client.waitForCredit(batchCredit(padTo8(HEADER_BYTES + list[from].length)));
      if (this.client.closed) throw this.client.closedError();
      let n = 0;
      let body = 0;
      while (n < MAX_BATCH && from + n < list.length) {
        const size = padTo8(HEADER_BYTES + list[from + n].length);
        if (batchCredit(body + size) > this.credit) break;
        body += size;
        n++;
      }
      // Another publisher on the connection took the credit first: wait again.
      if (n === 0) continue;
      // Each record is its own length, padded to 8: the batch is written here, not through claim.
      const start = this.client.reserve(FRAME_HEADER_BYTES + body);
      const buffer = this.client.buffer;
      if (this.codec === null || this.codec.bytes !== buffer) this.codec = new EnvelopeCodec(buffer);
      let at = start + FRAME_HEADER_BYTES;
      for (let i = 0; i < n; i++) {
        const payload = list[from + i];
        buffer.set(payload, at + HEADER_BYTES);
        const end = at + padTo8(HEADER_BYTES + payload.length);
        buffer.fill(0, at + HEADER_BYTES + payload.length, end);
        this.codec.writeHeader(at, producerId, this.sequence++, 0, payload.length, Flags.HAS_CRC, payloadCrc(buffer, at + HEADER_BYTES, payload.length), 0);
        at = end;
      }
      batch = this.frame(start, n, body);
      from += n;
    }
    await this.whenAcknowledged(batch);
  }

  /** Writes the PUBLISH header of `count` records (`body` bytes) at `start`, spends the credit, and queues the frame. */
  private frame(start: number, count: number, body: number): number {
    const batch = this.batches;
    this.batches = (this.batches + 1) >>> 0;
    writeFrameHeader(this.client.buffer, start, { type: FrameType.PUBLISH, id: this.handle, arg: batch, count, length: FRAME_HEADER_BYTES + body });
    this.client.publishCredit -= batchCredit(body);
    this.client.committed(FRAME_HEADER_BYTES + body);
    return batch;
  }
}

/** One delivered message, read from its envelope: who sent it, its number, and its payload (a view, valid during the handler). */
export interface Message {
  producerId: number;
  sequence: number;
  payload: Uint8Array;
  /** False when the payload does not match the CRC32 its publisher put in the envelope. */
  intact: boolean;
}

export function readMessage(bytes: Uint8Array, offset: number, length: number): Message {
  const codec = new EnvelopeCodec(bytes);
  const payload = bytes.subarray(offset + HEADER_BYTES, offset + length);
  const intact = (codec.flags(offset) & Flags.HAS_CRC) === 0 || payloadCrc(bytes, offset + HEADER_BYTES, payload.length) === codec.crc(offset);
  return { producerId: codec.producerId(offset), sequence: codec.sequence(offset), payload, intact };
}
