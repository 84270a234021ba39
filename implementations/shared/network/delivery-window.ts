/**
 * A window on messages in flight, end to end, for brokers without flow control of their own.
 *
 * Core NATS drops or disconnects a subscriber that falls behind ("slow consumer"), and a Redis
 * stream grows in the server's memory without bound while its readers lag: a closed-loop
 * producer would measure how fast the server accepts messages it then loses or hoards, not how
 * fast they are delivered. Applications put a window on top (requests with replies, acks, a
 * capped stream); this is that window, kept in shared memory because producers and consumers
 * of one trial are threads of one process. Its cost is two atomic adds per batch on the
 * producer side and one atomic store per message on the consumer side, never a message on the
 * wire, so it adds nothing to what the broker is measured doing. The NanoMQ broker needs none:
 * it gives credit itself.
 *
 *   Int32 words (the counters wrap at 2^32; differences are taken modulo 2^32):
 *   +-----------+-------+-------+---------+------------+-----+----------------+
 *   | published | mode  | epoch | waiters | consumed 0 | ... | consumed C - 1 |
 *   +-----------+-------+-------+---------+------------+-----+----------------+
 *   published    messages every producer has taken room for (granted, then handed to its client)
 *   mode         0: every reader gets every message (in flight = published - min consumed)
 *                1: readers share the messages, a group (in flight = published - sum consumed)
 *   epoch/waiters an event count (event-count.ts) that a producer waiting for room sleeps on
 *   consumed i   messages reader i has been handed
 */
import type { QueueOptions, WaitOutcome } from '../../contract.js';
import { EventCount } from '../ring/event-count.js';

const PUBLISHED = 0;
const MODE = 1;
const ROOM = 2;
const CONSUMED = 4;

/** `mode` when readers share the messages; 0 (every reader gets every message) is the start. */
const MODE_SHARED = 1;

/** The plain data a descriptor carries (survives postMessage). */
export interface DeliveryWindowMemory {
  readonly words: Int32Array;
  /** Messages allowed in flight. */
  readonly limit: number;
}

export function createDeliveryWindow(readers: number, limit: number): DeliveryWindowMemory {
  return { words: new Int32Array(new SharedArrayBuffer(4 * (CONSUMED + Math.max(1, readers)))), limit: Math.max(1, Math.floor(limit)) };
}

/** The window for a queue: as many messages of the largest size as its capacity holds, one slot per reader. */
export function deliveryWindowFor(options: QueueOptions): DeliveryWindowMemory {
  return createDeliveryWindow(options.consumers, options.capacityBytes / Math.max(1, options.maxMessageBytes));
}

export class DeliveryWindow {
  private readonly words: Int32Array;
  /** Messages allowed in flight. */
  readonly limit: number;
  private readonly readers: number;
  private readonly room: EventCount;

  constructor(memory: DeliveryWindowMemory) {
    this.words = memory.words;
    this.limit = memory.limit;
    this.readers = memory.words.length - CONSUMED;
    this.room = new EventCount(memory.words, ROOM);
  }

  /** Reader side: this queue's readers share its messages (a consumer group). */
  markShared(): void {
    Atomics.store(this.words, MODE, MODE_SHARED);
  }

  inFlight(): number {
    return this.inFlightWith(Atomics.load(this.words, PUBLISHED));
  }

  private inFlightWith(published: number): number {
    const w = this.words;
    if (Atomics.load(w, MODE) === MODE_SHARED) {
      let done = 0;
      for (let i = 0; i < this.readers; i++) done = (done + Atomics.load(w, CONSUMED + i)) | 0;
      return Math.max(0, (published - done) | 0);
    }
    // Every reader gets every message: the slowest one holds the window.
    let most = 0;
    for (let i = 0; i < this.readers; i++) {
      const behind = (published - Atomics.load(w, CONSUMED + i)) | 0;
      if (behind > most) most = behind;
    }
    return most;
  }

  /**
   * Producer side: takes room for up to `wanted` messages and returns how many (0: wait). They
   * count as in flight from this moment, taken with one compare-and-swap on `published`, so
   * producers racing for the same room share it and the window never holds more than `limit`.
   */
  grant(wanted: number): number {
    const w = this.words;
    for (;;) {
      const published = Atomics.load(w, PUBLISHED);
      const room = this.limit - this.inFlightWith(published);
      if (room <= 0) return 0;
      const n = Math.min(wanted, room);
      if (Atomics.compareExchange(w, PUBLISHED, published, (published + n) | 0) === published) return n;
    }
  }

  /** Reader side: reader `index` has now been handed `total` messages (wrapping at 2^32). */
  consumed(index: number, total: number): void {
    Atomics.store(this.words, CONSUMED + index, total | 0);
    this.room.signal();
  }

  /**
   * Producer side: resolves when there is room, or after `timeoutMs`. Sleeps on the event loop
   * (Atomics.waitAsync), never blocking the thread, whose sockets must go on being read.
   */
  awaitRoom(timeoutMs: number): Promise<WaitOutcome> {
    return this.room.awaitAsync(() => this.grant(1) > 0, timeoutMs);
  }
}
