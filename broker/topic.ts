/**
 * A topic: its log, its plain subscriptions and its consumer groups.
 *
 * What it keeps: every message from the lowest point still needed, which is the lowest of the
 * plain subscriptions' cursors (sent but maybe not yet read: the credit bounds that) and the
 * groups' committed offsets (delivered but not acknowledged). A topic without subscribers or
 * groups keeps nothing: a message published to nobody is dropped at once, as in NATS.
 *
 * Memory stays bounded because each publisher has a window of bytes (broker option `window`):
 * a published batch uses its bytes until the topic drops it, when they are given back as
 * CREDIT. A slow subscriber therefore slows its topic's publishers; it never grows the broker.
 */
import { ConsumerGroup } from './consumer-group.js';
import { OffsetQueue } from './offset-queue.js';
import type { StoredBatch, TopicLog } from './storage.js';
import type { Subscription } from './subscription.js';

/** Whoever published a batch, to be given its bytes back when the topic drops it. */
export interface CreditOwner {
  /** The topic dropped `batch`: its bytes are free again. */
  giveBack(batch: StoredBatch): void;
}

/** A new group's state could not be written (groups.json): the group was not made. */
export class GroupNotStoredError extends Error {
  constructor(group: string, cause: Error) {
    super(`cannot store group ${group}: ${cause.message}`, { cause });
    this.name = 'GroupNotStoredError';
  }
}

export class Topic {
  readonly subscriptions = new Set<Subscription>();
  readonly groups = new Map<string, ConsumerGroup>();
  /** Whom each batch published since the start gives its bytes back to, by offset. */
  private readonly owners = new OffsetQueue<CreditOwner>();
  /** Publisher handles that name this topic (on every connection). */
  publishers = 0;
  /** Since when (Date.now()) nothing has needed the topic; 0 while something does. */
  unusedSince = 0;

  constructor(
    readonly name: string,
    readonly log: TopicLog,
  ) {
    // A log that makes batches durable later (group commit) has them delivered then.
    log.onDurable = () => this.pump();
    log.keepCommitted(() => new Map([...this.groups.values()].map((g) => [g.name, g.committed])));
  }

  /**
   * Stores a batch; `stored` is called once it is durable (at once in memory), and only then is
   * it delivered.
   */
  publish(records: Uint8Array, count: number, owner: CreditOwner, stored: () => void): StoredBatch {
    const batch = this.log.append(records, count, stored);
    this.owners.push(batch.offset, owner);
    this.pump();
    return batch;
  }

  /** A group found in a durable log at start, resuming at its committed offset. */
  restoreGroup(name: string, committed: number): void {
    const group = new ConsumerGroup(name, Math.min(Math.max(committed, this.log.startOffset), this.log.endOffset));
    // Its members have a while to come back, as if they had just left.
    group.emptySince = Date.now();
    this.groups.set(name, group);
    this.log.groupsChanged();
  }

  /** The group of that name, made on first use, starting with the next message published. */
  group(name: string): ConsumerGroup {
    let group = this.groups.get(name);
    if (group === undefined) {
      group = new ConsumerGroup(name, this.log.endOffset);
      this.groups.set(name, group);
      try {
        // Durable before anyone subscribes: a group the disk forgot would, after a crash, start
        // again at the end and skip what was published to it meanwhile.
        this.log.groupsChanged();
      } catch (error) {
        // Not written: the group is not made, rather than left with no member and no end.
        this.groups.delete(name);
        throw new GroupNotStoredError(name, error as Error);
      }
    }
    return group;
  }

  subscribe(subscription: Subscription): void {
    if (subscription.group !== null) subscription.group.join(subscription);
    else this.subscriptions.add(subscription);
    this.pump();
  }

  unsubscribe(subscription: Subscription): void {
    if (subscription.group !== null) subscription.group.leave(subscription);
    else this.subscriptions.delete(subscription);
    this.pump();
  }

  dropGroup(name: string): void {
    this.groups.delete(name);
    this.log.groupsChanged();
    this.pump();
  }

  /** A publisher, subscriber or group needs it, it keeps messages someone may still be sent, or its log may not go (records on disk, a sync under way). */
  get inUse(): boolean {
    return this.publishers > 0 || this.subscriptions.size > 0 || this.groups.size > 0 || this.log.retainedBytes > 0 || !this.log.disposable;
  }

  /** Messages not yet delivered to (or, in groups, acknowledged by) the subscribers still connected. */
  backlog(): number {
    let most = 0;
    for (const s of this.subscriptions) most = Math.max(most, this.log.endOffset - s.cursor);
    for (const g of this.groups.values()) if (g.members.length > 0) most = Math.max(most, this.log.endOffset - g.committed);
    return most;
  }

  /** Sends what credit allows, then drops what no one needs any more. */
  pump(): void {
    for (const s of this.subscriptions) s.pump(this.log);
    for (const g of this.groups.values()) g.pump(this.log);
    let floor = this.log.endOffset;
    for (const s of this.subscriptions) floor = Math.min(floor, s.cursor);
    for (const g of this.groups.values()) floor = Math.min(floor, g.committed);
    if (floor > this.log.startOffset) {
      for (const batch of this.log.trimBefore(floor)) {
        // Batches drop in offset order; those without an owner (a restart's backlog) are not here.
        while ((this.owners.firstKey() ?? Number.POSITIVE_INFINITY) < batch.offset) this.owners.shift();
        if (this.owners.firstKey() === batch.offset) this.owners.shift()?.giveBack(batch);
      }
    }
  }
}
