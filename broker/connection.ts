/**
 * One client connection on the broker: its frames in, its deliveries out, and every byte and
 * handle it may make the broker hold (broker/limits.ts).
 *
 *   socket ─▶ FrameReader (≤ preAuthBytes before HELLO, ≤ window after; partial frames count
 *             against the broker's input budget) ─▶ onFrame ─▶ publish / ack / open / subscribe
 *   socket ◀─ Outbox (gathered per turn) ◀─ send / deliver, only while `ready` (unsent output < maxPendingBytes)
 *
 * Two kinds of "no": a frame that breaks the protocol (bad length, unknown type, a malformed
 * batch, a lie about credit) closes this connection after an ERROR saying why (`fail`); a request
 * over a quota (handles, topics, groups, the broker's buffered bytes) is answered with an ERROR
 * for that request only and the connection goes on (`refuse`).
 */
import type { Socket } from 'node:net';
import type { ConsumerGroup } from './consumer-group.js';
import { FrameError, FrameReader } from './frame-reader.js';
import {
  batchCredit,
  bodyText,
  checkBatch,
  ErrorCode,
  type ErrorCodeValue,
  FRAME_HEADER_BYTES,
  FrameHeaderReader,
  Frames,
  FrameType,
  MAX_FRAME_BYTES,
  NAME_PATTERN,
  PROTOCOL_VERSION,
  readAckTags,
  readSubscribeBody,
} from './frames.js';
import type { BrokerLimits } from './limits.js';
import { Outbox } from './outbox.js';
import { PublishCredit } from './publish-credit.js';
import { RecordArena } from './record-arena.js';
import type { SharedReads } from './shared-reads.js';
import type { SpanMemory } from './span-pool.js';
import type { StoredBatch } from './storage.js';
import { type DeliverySink, Subscription } from './subscription.js';
import { GroupNotStoredError, type Topic } from './topic.js';

/** What a connection needs of its broker (broker/server.ts), named here so the two files do not import each other. */
export interface ConnectionHost {
  readonly limits: BrokerLimits;
  readonly stats: { frames: number; published: number; delivered: number; protocolErrors: number; refused: number };
  readonly shuttingDown: boolean;
  checkToken(offered: string): boolean;
  /** The topic of that name if it exists. */
  topic(name: string): Topic | undefined;
  /** The topic of that name, made if needed; a string says why not (a limit, or a log that cannot be opened). */
  openTopic(name: string): Topic | string;
  /** A handle on the topic went away: it may now be unused. */
  topicReleased(topic: Topic): void;
  /** Why the topic cannot have one more group, or null. */
  groupRefused(topic: string, group: string): string | null;
  /** Reserves a window from the buffered-bytes pool; false when it is spent. */
  reserveWindow(): boolean;
  releaseWindow(): void;
  /**
   * The connection's incomplete frame now needs `wanted` bytes of the input budget (0: none).
   * The broker sets `reservedInput` to what it grants: `wanted`, or 0 with the connection paused
   * until there is room (resumeInput).
   */
  reserveInput(connection: Connection, wanted: number): void;
  /** The connection gives back its whole reservation (it closed). */
  releaseInput(connection: Connection): void;
  /** Where plain-TCP sockets are read into (shared-reads.ts). */
  readonly sharedReads: SharedReads;
  /** Where frames that span reads are copied (span-pool.ts). */
  readonly spans: SpanMemory;
  /** `bytes` of memory outside V8's heap were made for one read or one frame, garbage once handled (broker/heap-goal.ts collects them sooner). */
  noteTransient(bytes: number): void;
}

interface PublisherHandle {
  readonly topic: Topic;
  lastBatch: number;
  ackScheduled: boolean;
}

interface SubscriptionHandle {
  readonly subscription: Subscription;
  readonly topic: Topic;
}

export class Connection implements DeliverySink {
  private readonly reader: FrameReader;
  private readonly header = new FrameHeaderReader();
  private readonly limits: BrokerLimits;
  private hello = false;
  private closed = false;
  private readonly openedAt = Date.now();
  /** Handles are numbered 1, 2, 3, … for publishers and subscriptions alike; below `nextHandle` a missing one was closed. */
  private nextHandle = 1;
  private readonly publishers = new Map<number, PublisherHandle>();
  private readonly subscriptions = new Map<number, SubscriptionHandle>();
  /** Topics this connection's handles name, with how many handles name each. */
  private readonly topicRefs = new Map<Topic, number>();
  /** The window all its publishers share; made with the first. */
  private credit: PublishCredit | null = null;
  private creditHandle = 0;
  /** Where its published batches are kept (record-arena.ts); made with the window. */
  private arena: RecordArena | null = null;
  /** Its output, gathered per turn of the event loop (outbox.ts). */
  private readonly outbox: Outbox;
  /** Bytes of the input budget this connection's incomplete frame has: its length while it is read, 0 while it waits (paused). */
  reservedInput = 0;
  /** Not read until the broker's input budget has room for its incomplete frame. */
  pausedForInput = false;
  /** Not read while its socket holds more unsent output than the limit (a peer that does not read its replies). */
  private pausedForOutput = false;
  /** Delivery stopped at the outbound limit; the next 'drain' starts it again. */
  private blocked = false;
  /** Since when (Date.now()) its socket has held the limit of unsent output; 0 when it has room. */
  private blockedSince = 0;

  constructor(
    private readonly host: ConnectionHost,
    private readonly socket: Socket,
  ) {
    this.limits = host.limits;
    this.outbox = new Outbox(socket);
    this.reader = new FrameReader((bytes, at, length) => this.onFrame(bytes, at, length), false, host.limits.preAuthBytes, host.spans);
    // Reads into the broker's one read buffer where Node allows it (shared-reads.ts); else a new
    // buffer per read, counted so the heap goal collects them sooner.
    if (!host.sharedReads.attach(socket, (chunk) => this.onData(chunk)))
      socket.on('data', (chunk: Buffer) => {
        this.host.noteTransient(chunk.byteLength);
        this.onData(chunk);
      });
    socket.on('drain', () => this.onDrain());
    // A reset or a write to a closed peer ends this connection only.
    socket.on('error', () => socket.destroy());
  }

  // ── input ───────────────────────────────────────────────────────────────────────────────────

  /** `chunk` may be the broker's shared read buffer: whatever is kept of it is copied before this returns. */
  private onData(chunk: Uint8Array): void {
    if (this.closed) return;
    const copiedBefore = this.reader.copiedBytes;
    try {
      this.reader.push(chunk);
    } catch (error) {
      if (error instanceof FrameError) this.fail(0, error.overLimit ? ErrorCode.TOO_LARGE : ErrorCode.BAD_FRAME, error.message);
      else this.fail(0, ErrorCode.BAD_FRAME, `internal error: ${(error as Error).message}`);
      return;
    }
    // A frame that spanned reads is not kept alive by the header reader's view of the last one;
    // memory made for one frame (not the span pool's) is garbage once handled.
    this.header.forget();
    if (this.reader.copiedBytes !== copiedBefore) this.host.noteTransient(this.reader.copiedBytes - copiedBefore);
    if (this.closed) return;
    const wanted = this.wantedInput;
    if (wanted !== this.reservedInput) this.host.reserveInput(this, wanted);
    // Replies it does not read (OKs, errors) must not pile up either: stop reading it until its
    // socket drains; the sweep cuts it if that takes longer than --slow-consumer.
    if (this.outbox.pendingBytes > this.limits.maxPendingBytes) {
      this.pausedForOutput = true;
      this.markBlocked();
      this.socket.pause();
    }
  }

  /** Memory its incomplete frame holds now. */
  get heldInput(): number {
    return this.reader.heldBytes;
  }

  /** What its incomplete frame would take of the input budget, were it read on (its length). */
  get wantedInput(): number {
    return this.reader.declaredBytes;
  }

  /** The broker cannot take its incomplete frame now: it is not read; the kernel's buffers hold the sender back. */
  pauseInput(): void {
    this.pausedForInput = true;
    this.socket.pause();
  }

  /** The broker has room for its incomplete frame: reading goes on, and the frame's clock starts again. */
  resumeInput(): void {
    this.pausedForInput = false;
    this.reader.restartClock(Date.now());
    if (!this.pausedForOutput) this.socket.resume();
  }

  private onFrame(bytes: Uint8Array, at: number, length: number): void {
    if (this.closed) return;
    this.host.stats.frames++;
    const header = this.header;
    header.read(bytes, at);
    const { view, type, id, arg, count } = header;
    if (!this.hello && type !== FrameType.HELLO) {
      this.fail(0, ErrorCode.NOT_AUTHORIZED, 'the first frame must be HELLO');
      return;
    }
    switch (type) {
      case FrameType.HELLO:
        this.sayHello(id, bodyText(bytes, at, length));
        return;
      case FrameType.PUBLISH:
        this.publish(view, bytes, at, length, id, arg, count);
        return;
      case FrameType.ACK:
        this.ack(view, at, length, id, count);
        return;
      case FrameType.OPEN_PUBLISHER:
        this.openPublisher(id, bodyText(bytes, at, length));
        return;
      case FrameType.SUBSCRIBE:
        this.subscribe(id, arg, readSubscribeBody(bytes, at, length));
        return;
      case FrameType.UNSUBSCRIBE:
        this.unsubscribe(id);
        return;
      default:
        this.fail(0, ErrorCode.UNKNOWN_TYPE, `unknown frame type ${type}`);
    }
  }

  private sayHello(version: number, token: string): void {
    if (this.hello) {
      this.fail(0, ErrorCode.BAD_FRAME, 'HELLO sent twice');
      return;
    }
    if (version !== PROTOCOL_VERSION) {
      this.fail(0, ErrorCode.BAD_FRAME, `protocol version ${version} (this broker speaks ${PROTOCOL_VERSION})`);
      return;
    }
    if (!this.host.checkToken(token)) {
      this.fail(0, ErrorCode.NOT_AUTHORIZED, 'wrong or missing token');
      return;
    }
    this.hello = true;
    // From now on a frame may be as long as a window of records (a batch never exceeds the credit).
    this.reader.limit = Math.min(MAX_FRAME_BYTES, FRAME_HEADER_BYTES + this.limits.windowBytes);
    this.send(Frames.ok(0));
  }

  private publish(view: DataView, bytes: Uint8Array, at: number, length: number, handle: number, batchNumber: number, count: number): void {
    const publisher = this.publishers.get(handle);
    if (publisher === undefined || this.credit === null) {
      this.fail(handle, ErrorCode.UNKNOWN_HANDLE, `no publisher ${handle}`);
      return;
    }
    // Not acknowledged, so not lost: the publisher knows this batch was refused.
    if (this.host.shuttingDown) {
      this.fail(handle, ErrorCode.SHUTTING_DOWN, 'the broker is shutting down');
      return;
    }
    const problem = checkBatch(view, at, length, count);
    if (problem !== null) {
      this.fail(handle, ErrorCode.BAD_RECORD, problem);
      return;
    }
    const bodyBytes = length - FRAME_HEADER_BYTES;
    // The window is the client's to respect; one that ignores it is cut off, not buffered.
    if (!this.credit.admit(batchCredit(bodyBytes))) {
      this.fail(
        handle,
        ErrorCode.LIMIT,
        `published a batch of ${bodyBytes} bytes (${batchCredit(bodyBytes)} of credit) with ${this.credit.available} of its ${this.credit.windowBytes}-byte window left`,
      );
      return;
    }
    const records = this.keepRecords(bytes.subarray(at + FRAME_HEADER_BYTES, at + length));
    // Acknowledged (PUBACK) once stored as the broker's policy says: at once in memory, after
    // the fdatasync that covers it with a durable log.
    try {
      publisher.topic.publish(records, count, this.credit, () => this.accepted(handle, publisher, batchNumber));
    } catch (error) {
      // Not stored (a log that cannot write): not acknowledged, and its bytes are not held.
      this.credit.cancel(batchCredit(bodyBytes));
      this.fail(handle, ErrorCode.LIMIT, `cannot store the batch: ${(error as Error).message}`);
      return;
    }
    this.host.stats.published += count;
  }

  /**
   * The memory a published batch is kept in until every reader is done with it: a copy in the
   * connection's arena (record-arena.ts). Required: the bytes it came in are the broker's shared
   * read buffer (shared-reads.ts), which the next read of any connection overwrites. Keeping
   * views of chunks instead let promoted chunks pile up outside V8's heap until a full
   * collection (70 MiB at 1.6M msg/s); copying into a fresh buffer per batch cost ~15% of a core
   * in garbage collection at 500k msg/s. A copy into reused slabs costs neither.
   */
  private keepRecords(body: Uint8Array): Uint8Array {
    return (this.arena as RecordArena).keep(body);
  }

  /** One PUBACK per publisher per turn of the event loop, naming the last batch stored. */
  private accepted(handle: number, publisher: PublisherHandle, batchNumber: number): void {
    publisher.lastBatch = batchNumber;
    if (publisher.ackScheduled) return;
    publisher.ackScheduled = true;
    process.nextTick(() => {
      publisher.ackScheduled = false;
      this.send(Frames.puback(handle, publisher.lastBatch));
    });
  }

  private ack(view: DataView, at: number, length: number, id: number, count: number): void {
    const handle = this.subscriptions.get(id);
    if (handle === undefined) {
      // The unsubscribe handshake: deliveries that were on their way when the client sent
      // UNSUBSCRIBE are acknowledged after it. Ignored: the subscription's batches already went
      // back to its group. An id never given out is a client bug.
      if (this.leftSubscription(id)) return;
      this.fail(id, ErrorCode.UNKNOWN_HANDLE, `no subscription ${id}`);
      return;
    }
    const problem = handle.subscription.acknowledge(count, readAckTags(view, at, length));
    if (problem !== null) {
      this.fail(id, ErrorCode.BAD_FRAME, problem);
      return;
    }
    handle.topic.pump();
  }

  private openPublisher(request: number, name: string): void {
    if (this.badName(request, 'topic', name) || this.handleQuotaSpent(request)) return;
    // The window first: a request the pool refuses makes no topic (or log).
    if (this.credit === null) {
      if (!this.host.reserveWindow()) {
        this.refuse(request, ErrorCode.LIMIT, `the broker's publishers already hold its ${this.limits.bufferedBytes} buffered bytes (--max-buffered)`);
        return;
      }
      const arena = RecordArena.forWindow(this.limits.windowBytes);
      this.arena = arena;
      this.credit = new PublishCredit(
        this.limits.windowBytes,
        (bytes) => this.send(Frames.credit(this.creditHandle, bytes)),
        () => {
          this.host.releaseWindow();
          arena.clear();
        },
        (batch) => arena.release(batch.records),
      );
    }
    const topic = this.useTopic(request, name);
    if (topic === undefined) {
      if (this.publishers.size === 0) {
        // Its only would-be publisher was refused: the window goes back to the pool.
        this.credit.close();
        this.credit = null;
      }
      return;
    }
    const handle = this.nextHandle++;
    this.publishers.set(handle, { topic, lastBatch: -1, ackScheduled: false });
    topic.publishers++;
    this.send(Frames.ok(request, handle));
    // The window is the connection's: its first publisher is granted all of it, the others share it.
    if (this.creditHandle === 0) {
      this.creditHandle = handle;
      this.send(Frames.credit(handle, this.limits.windowBytes));
    }
  }

  private subscribe(request: number, credit: number, body: { topic: string; group: string | undefined; extra: boolean }): void {
    const { topic: name, group: groupName, extra } = body;
    if (this.badName(request, 'topic', name)) return;
    if (extra) {
      this.fail(request, ErrorCode.BAD_NAME, `group name ${JSON.stringify(groupName)} is not ${NAME_PATTERN}`);
      return;
    }
    if (groupName !== undefined && this.badName(request, 'group', groupName)) return;
    if (credit === 0 || credit > 1_000_000) {
      this.fail(request, ErrorCode.BAD_FRAME, `credit ${credit} is outside 1..1000000 messages`);
      return;
    }
    if (this.handleQuotaSpent(request)) return;
    if (groupName !== undefined) {
      const refused = this.host.groupRefused(name, groupName);
      if (refused !== null) {
        this.refuse(request, ErrorCode.LIMIT, refused);
        return;
      }
    }
    const topic = this.useTopic(request, name);
    if (topic === undefined) return;
    let group: ConsumerGroup | null = null;
    if (groupName !== undefined) {
      try {
        group = topic.group(groupName);
      } catch (error) {
        if (!(error instanceof GroupNotStoredError)) throw error;
        this.releaseTopic(topic);
        this.refuse(request, ErrorCode.STORAGE, error.message);
        return;
      }
    }
    const id = this.nextHandle++;
    const subscription = new Subscription(id, name, this, credit, topic.log.endOffset, group);
    this.subscriptions.set(id, { subscription, topic });
    // OK first: the client must know the id before the first DELIVER for it arrives.
    this.send(Frames.ok(request, id));
    topic.subscribe(subscription);
  }

  /**
   * Leaves a subscription: nothing more is delivered for it after the OK, and ACKs for it that
   * were already on their way are ignored. Leaving twice is answered OK twice.
   */
  private unsubscribe(id: number): void {
    const handle = this.subscriptions.get(id);
    if (handle === undefined) {
      if (this.leftSubscription(id)) this.send(Frames.ok(id));
      else this.fail(id, ErrorCode.UNKNOWN_HANDLE, `no subscription ${id}`);
      return;
    }
    this.subscriptions.delete(id);
    handle.topic.unsubscribe(handle.subscription);
    this.releaseTopic(handle.topic);
    this.send(Frames.ok(id));
  }

  /** A name that is not NAME_PATTERN closes the connection (BAD_NAME); true when it did. */
  private badName(request: number, kind: 'topic' | 'group', name: string): boolean {
    if (NAME_PATTERN.test(name)) return false;
    this.fail(request, ErrorCode.BAD_NAME, `${kind} name ${JSON.stringify(name)} is not ${NAME_PATTERN}`);
    return true;
  }

  /** An id this connection gave a subscription it has since left (publishers are never closed alone). */
  private leftSubscription(id: number): boolean {
    return id > 0 && id < this.nextHandle && !this.publishers.has(id) && !this.subscriptions.has(id);
  }

  private handleQuotaSpent(request: number): boolean {
    if (this.publishers.size + this.subscriptions.size < this.limits.maxHandlesPerConnection) return false;
    this.refuse(request, ErrorCode.LIMIT, `a connection may hold ${this.limits.maxHandlesPerConnection} publishers and subscriptions`);
    return true;
  }

  /**
   * The topic for a new handle, counted against this connection's topics; undefined when refused.
   * The quota is checked before anything is made: a refused request costs no topic (or log).
   */
  private useTopic(request: number, name: string): Topic | undefined {
    const existing = this.host.topic(name);
    if ((existing === undefined || !this.topicRefs.has(existing)) && this.topicRefs.size >= this.limits.maxTopicsPerConnection) {
      this.refuse(request, ErrorCode.LIMIT, `a connection may name ${this.limits.maxTopicsPerConnection} topics`);
      return undefined;
    }
    const opened = existing ?? this.host.openTopic(name);
    if (typeof opened === 'string') {
      this.refuse(request, ErrorCode.LIMIT, opened);
      return undefined;
    }
    this.topicRefs.set(opened, (this.topicRefs.get(opened) ?? 0) + 1);
    return opened;
  }

  private releaseTopic(topic: Topic): void {
    const refs = (this.topicRefs.get(topic) ?? 1) - 1;
    if (refs > 0) this.topicRefs.set(topic, refs);
    else this.topicRefs.delete(topic);
    this.host.topicReleased(topic);
  }

  // ── output ──────────────────────────────────────────────────────────────────────────────────

  /** Can take another delivery: the socket holds less unsent output than the limit. */
  get ready(): boolean {
    if (this.closed) return false;
    if (this.outbox.pendingBytes < this.limits.maxPendingBytes) return true;
    this.markBlocked();
    return false;
  }

  private markBlocked(): void {
    this.blocked = true;
    if (this.blockedSince === 0) this.blockedSince = Date.now();
  }

  /** Bytes of output not yet sent (gathered this turn, or in the socket). */
  get pendingOutput(): number {
    return this.outbox.pendingBytes;
  }

  private onDrain(): void {
    if (!this.blocked || this.closed) return;
    this.blocked = false;
    this.blockedSince = 0;
    if (this.pausedForOutput) {
      this.pausedForOutput = false;
      this.reader.restartClock(Date.now());
      if (!this.pausedForInput) this.socket.resume();
    }
    for (const { topic } of this.subscriptions.values()) topic.pump();
  }

  deliver(subscription: number, tag: number, batch: StoredBatch, redelivered: boolean): void {
    if (this.closed) return;
    this.host.stats.delivered += batch.count;
    this.outbox.deliver(subscription, tag, batch.count, batch.records, redelivered);
  }

  /** Queues a frame; everything queued in one turn of the event loop goes out together. */
  send(frame: Uint8Array): void {
    if (this.closed) return;
    this.outbox.frame(frame);
  }

  /** A request over a quota: an ERROR for that request; the connection goes on. */
  private refuse(request: number, code: ErrorCodeValue, message: string): void {
    this.host.stats.refused++;
    this.send(Frames.error(request, code, message));
  }

  /** Says why in an ERROR frame, then closes this connection (and only it). */
  fail(id: number, code: ErrorCodeValue, message: string): void {
    if (this.closed) return;
    this.host.stats.protocolErrors++;
    // After what this turn gathered, so the peer reads its frames in order.
    this.outbox.flush();
    this.socket.write(Frames.error(id, code, message));
    this.closed = true;
    this.socket.end();
    // A peer that never reads its error must not hold the socket open.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.detach();
  }

  /** Leaves every topic (group members hand their unacknowledged batches back) and gives back what it held. */
  detach(): void {
    // An incomplete frame's pooled memory goes back to the pool.
    this.reader.release();
    for (const { subscription, topic } of this.subscriptions.values()) {
      topic.unsubscribe(subscription);
      this.releaseTopic(topic);
    }
    this.subscriptions.clear();
    for (const { topic } of this.publishers.values()) {
      topic.publishers--;
      this.releaseTopic(topic);
    }
    this.publishers.clear();
    this.credit?.close();
    this.host.releaseInput(this);
  }

  sweep(now: number): void {
    if (this.closed) return;
    this.arena?.trimIfIdle();
    this.outbox.trimIfIdle();
    const { frameTimeoutMs, slowConsumerMs } = this.limits;
    if (!this.hello && now - this.openedAt > frameTimeoutMs) {
      this.fail(0, ErrorCode.STALLED, `no HELLO within ${frameTimeoutMs} ms`);
      return;
    }
    // Node says 'drain' only after a write found its buffer past the high-water mark; below
    // that, room is found here.
    if (this.blocked && this.outbox.pendingBytes < this.limits.maxPendingBytes) this.onDrain();
    // Not read (the broker held it back): not its fault if its frame is incomplete.
    if (this.reader.midFrame && !this.pausedForInput && !this.pausedForOutput && now - this.reader.partialSince > frameTimeoutMs) {
      this.fail(0, ErrorCode.STALLED, `a frame left incomplete for ${frameTimeoutMs} ms`);
      return;
    }
    if (this.blockedSince > 0 && now - this.blockedSince > slowConsumerMs) {
      this.fail(0, ErrorCode.SLOW_CONSUMER, `the connection took none of its output for ${slowConsumerMs} ms`);
      return;
    }
    for (const { subscription: s } of this.subscriptions.values()) {
      const oldest = s.oldestUnacknowledgedAt;
      if (oldest > 0 && now - oldest > slowConsumerMs) {
        this.fail(s.id, ErrorCode.SLOW_CONSUMER, `subscription ${s.id} left a delivery unacknowledged for over ${slowConsumerMs} ms`);
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
      this.outbox.flush();
      this.socket.end();
      setTimeout(() => this.socket.destroy(), graceMs).unref();
    });
  }
}
