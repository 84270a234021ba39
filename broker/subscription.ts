/**
 * One subscriber's view of a topic: a plain subscription (every message, from the moment it
 * subscribed) or a consumer-group member (its share, see consumer-group.ts).
 *
 * Flow control by credit, counted in messages: the subscriber grants some when it subscribes
 * and gives back what it has handled with every ACK. The broker sends a batch only while the
 * credit is above zero (a batch may take it below zero by at most 255) and while the
 * connection's socket has room (`DeliverySink.ready`), so what waits for a subscriber is bounded
 * by its credit and by the connection's outbound limit, however slow it is.
 *
 * An ACK can give back only credit that was delivered and not yet given back; the deliveries
 * are kept in order with the time each was sent, so the broker knows how long the oldest one has
 * waited (`oldestUnacknowledgedAt`): a subscriber is judged by that, whatever credit it has.
 *
 *   deliveries ─▶ [ (count, sentAt) (count, sentAt) … ] ─▶ ACK count takes from the front
 */
import { OffsetQueue } from './offset-queue.js';
import type { StoredBatch, TopicLog } from './storage.js';

/** What a member needs of its group (consumer-group.ts), named here so the two files do not import each other. */
export interface MemberGroup {
  join(member: Subscription): void;
  leave(member: Subscription): void;
  acknowledged(batch: StoredBatch): void;
}

/** Where a subscription's deliveries go (the connection, in the server). */
export interface DeliverySink {
  deliver(subscription: number, tag: number, batch: StoredBatch, redelivered: boolean): void;
  /** False while the socket holds as much unsent output as the broker allows a connection. */
  readonly ready: boolean;
}

/** Delivery tags run 1..TAG_CYCLE and start again at 1 (0 means "no tag": a plain subscription). */
const TAG_CYCLE = 0xffffffff;

export class Subscription {
  credit: number;
  /** Plain subscriptions: the next offset to send. */
  cursor: number;
  /**
   * Group members: delivered batches by delivery number (the tag is that number, cycled through
   * 1..TAG_CYCLE), oldest first, null once acknowledged, with when each was sent. The front is
   * always one not yet acknowledged: acknowledged ones are taken off the front as it reaches them.
   */
  private readonly pending = new OffsetQueue<StoredBatch | null>();
  private readonly pendingSentAt = new OffsetQueue<number>();
  private nextDelivery = 0;
  /** Messages delivered whose credit has not come back: what an ACK may return at most. */
  unacknowledged = 0;
  /** Deliveries whose credit has not come back, oldest first: message counts and send times (a ring). */
  private counts = new Float64Array(16);
  private sentAts = new Float64Array(16);
  private head = 0;
  private size = 0;

  constructor(
    readonly id: number,
    readonly topic: string,
    private readonly sink: DeliverySink,
    credit: number,
    startOffset: number,
    readonly group: MemberGroup | null,
  ) {
    this.credit = credit;
    this.cursor = startOffset;
  }

  /** Has credit, and its connection can take more output. */
  get canTake(): boolean {
    return this.credit > 0 && this.sink.ready;
  }

  /** When (Date.now()) the oldest delivery not yet acknowledged was sent; 0 when there is none. */
  get oldestUnacknowledgedAt(): number {
    const credited = this.size > 0 ? this.sentAts[this.head] : 0;
    const tagged = this.pendingSentAt.first() ?? 0;
    return credited === 0 || (tagged !== 0 && tagged < credited) ? tagged : credited;
  }

  /** Plain subscriptions: sends every stored batch from the cursor while credit and the socket allow. */
  pump(log: TopicLog): void {
    while (this.canTake && this.cursor < log.durableOffset) {
      const batch = log.read(this.cursor);
      if (batch === undefined) throw new Error(`subscription ${this.id}: no batch at offset ${this.cursor}`);
      this.cursor += batch.count;
      this.send(batch, false);
    }
  }

  send(batch: StoredBatch, redelivered: boolean): void {
    const now = Date.now();
    this.credit -= batch.count;
    this.unacknowledged += batch.count;
    this.remember(batch.count, now);
    let tag = 0;
    if (this.group !== null) {
      const delivery = this.nextDelivery++;
      tag = (delivery % TAG_CYCLE) + 1;
      this.pending.push(delivery, batch);
      this.pendingSentAt.push(delivery, now);
    }
    this.sink.deliver(this.id, tag, batch, redelivered);
  }

  /**
   * The subscriber handled `count` messages and, in a group, acknowledges the batches `tags`.
   * Returns what is wrong when `count` is more than was delivered and not yet given back.
   */
  acknowledge(count: number, tags: Iterable<number>): string | null {
    if (count > this.unacknowledged) {
      return `ACK returns ${count} messages of credit; ${this.unacknowledged} were delivered and not acknowledged`;
    }
    this.credit += count;
    this.unacknowledged -= count;
    this.forget(count);
    if (this.group === null) return null;
    for (const tag of tags) {
      const delivery = this.deliveryOf(tag);
      const batch = delivery === undefined ? undefined : this.pending.get(delivery);
      // An unknown tag (repeated, or never sent) changes nothing: acknowledgements are idempotent.
      if (batch === undefined || batch === null) continue;
      this.pending.set(delivery as number, null);
      this.group.acknowledged(batch);
    }
    while (this.pending.size > 0 && this.pending.first() === null) {
      this.pending.shift();
      this.pendingSentAt.shift();
    }
    return null;
  }

  /** The delivery number a tag names, if it is one of those still kept. */
  private deliveryOf(tag: number): number | undefined {
    const front = this.pending.firstKey();
    if (front === undefined || !Number.isInteger(tag) || tag < 1 || tag > TAG_CYCLE) return undefined;
    const ahead = (tag - 1 - (front % TAG_CYCLE) + TAG_CYCLE) % TAG_CYCLE;
    return ahead < this.pending.size ? front + ahead : undefined;
  }

  /** Leaving: the unacknowledged batches, for the group to hand to others. */
  takePending(): StoredBatch[] {
    const batches: StoredBatch[] = [];
    for (const batch of this.pending) if (batch !== null) batches.push(batch);
    this.pending.clear();
    this.pendingSentAt.clear();
    return batches;
  }

  private remember(count: number, now: number): void {
    if (this.size === this.counts.length) {
      const counts = new Float64Array(this.size * 2);
      const sentAts = new Float64Array(this.size * 2);
      for (let i = 0; i < this.size; i++) {
        counts[i] = this.counts[(this.head + i) % this.size];
        sentAts[i] = this.sentAts[(this.head + i) % this.size];
      }
      this.counts = counts;
      this.sentAts = sentAts;
      this.head = 0;
    }
    const at = (this.head + this.size) % this.counts.length;
    this.counts[at] = count;
    this.sentAts[at] = now;
    this.size++;
  }

  /** Takes `count` messages off the oldest deliveries. */
  private forget(count: number): void {
    let left = count;
    while (left > 0 && this.size > 0) {
      const first = this.counts[this.head];
      if (first > left) {
        this.counts[this.head] = first - left;
        return;
      }
      left -= first;
      this.head = (this.head + 1) % this.counts.length;
      this.size--;
    }
  }
}
