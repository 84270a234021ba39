/**
 * One subscriber's view of a topic: a plain subscription (every message, from the moment it
 * subscribed) or a consumer-group member (its share, see consumer-group.ts).
 *
 * Flow control by credit, counted in messages: the subscriber grants some when it subscribes
 * and gives back what it has handled with every ACK. The broker sends a batch only while the
 * credit is above zero (a batch may take it below zero by at most 255), so what waits in a
 * subscriber's socket is bounded by its credit, however slow it is.
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
}

export class Subscription {
  credit: number;
  /** Plain subscriptions: the next offset to send. */
  cursor: number;
  /** Group members: delivered batches not yet acknowledged, by delivery tag. */
  private readonly pending = new Map<number, StoredBatch>();
  private nextTag = 1;
  /** Last time (Date.now()) it acknowledged something or was given its first credit. */
  lastProgressAt = Date.now();

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

  get unacknowledged(): number {
    return this.pending.size;
  }

  /** Plain subscriptions: sends every stored batch from the cursor while credit lasts. */
  pump(log: TopicLog): void {
    while (this.credit > 0 && this.cursor < log.durableOffset) {
      const batch = log.read(this.cursor);
      if (batch === undefined) throw new Error(`subscription ${this.id}: no batch at offset ${this.cursor}`);
      this.cursor += batch.count;
      this.send(batch, false);
    }
  }

  send(batch: StoredBatch, redelivered: boolean): void {
    this.credit -= batch.count;
    let tag = 0;
    if (this.group !== null) {
      tag = this.nextTag;
      this.nextTag = this.nextTag === 0xffffffff ? 1 : this.nextTag + 1;
      this.pending.set(tag, batch);
    }
    this.sink.deliver(this.id, tag, batch, redelivered);
  }

  /** The subscriber handled `count` messages and, in a group, acknowledges the batches `tags`. */
  acknowledge(count: number, tags: Iterable<number>): void {
    this.credit += count;
    this.lastProgressAt = Date.now();
    if (this.group === null) return;
    for (const tag of tags) {
      const batch = this.pending.get(tag);
      // An unknown tag (repeated, or never sent) changes nothing: acknowledgements are idempotent.
      if (batch === undefined) continue;
      this.pending.delete(tag);
      this.group.acknowledged(batch);
    }
  }

  /** Leaving: the unacknowledged batches, for the group to hand to others. */
  takePending(): StoredBatch[] {
    const batches = [...this.pending.values()];
    this.pending.clear();
    return batches;
  }
}
