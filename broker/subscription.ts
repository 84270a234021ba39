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

/** A group batch delivered and not yet acknowledged, and when it was sent. */
interface PendingBatch {
  readonly batch: StoredBatch;
  readonly sentAt: number;
}

export class Subscription {
  credit: number;
  /** Plain subscriptions: the next offset to send. */
  cursor: number;
  /** Group members: delivered batches not yet acknowledged, by delivery tag, oldest first. */
  private readonly pending = new Map<number, PendingBatch>();
  private nextTag = 1;
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
    // The map keeps insertion order: its first entry is its oldest.
    const tagged = this.pending.values().next().value?.sentAt ?? 0;
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
      tag = this.nextTag;
      this.nextTag = this.nextTag === 0xffffffff ? 1 : this.nextTag + 1;
      this.pending.set(tag, { batch, sentAt: now });
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
      const p = this.pending.get(tag);
      // An unknown tag (repeated, or never sent) changes nothing: acknowledgements are idempotent.
      if (p === undefined) continue;
      this.pending.delete(tag);
      this.group.acknowledged(p.batch);
    }
    return null;
  }

  /** Leaving: the unacknowledged batches, for the group to hand to others. */
  takePending(): StoredBatch[] {
    const batches = [...this.pending.values()].map((p) => p.batch);
    this.pending.clear();
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
