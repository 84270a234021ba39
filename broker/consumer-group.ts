/**
 * A consumer group: the members share a topic's messages, each batch going to one member.
 *
 * - Assignment is per batch and changes as members come and go: the next batch goes to the next
 *   member (round robin) that has credit and whose connection can take output, so a member that joins takes work at once and one that
 *   leaves takes none.
 * - The group's committed offset is the first message not yet acknowledged; every message below
 *   it has been processed by some member. The topic keeps everything from the lowest committed
 *   offset of its groups, so nothing unacknowledged is ever dropped.
 * - At least once: a member that leaves (unsubscribes, disconnects, crashes) hands its
 *   delivered-but-unacknowledged batches back; they go, oldest first and flagged REDELIVERED,
 *   to the remaining members before any new batch. A member may have processed some of them
 *   before it left, so they may arrive twice; never zero times.
 * - Order: a member sees each publisher's messages in order, except redelivered batches, which
 *   are older than what it has already seen.
 */
import { BatchUnavailableError, type StoredBatch, type TopicLog } from './storage.js';
import type { MemberGroup, Subscription } from './subscription.js';

export class ConsumerGroup implements MemberGroup {
  /** Next offset never handed to any member. */
  private cursor: number;
  /** First offset not acknowledged: everything below it is done. */
  committed: number;
  /** Acknowledged batches above `committed` (offset → message count), waiting for the gap below them to close. */
  private readonly ackedAhead = new Map<number, number>();
  /** Batches handed back by members that left, oldest first. */
  private redeliver: StoredBatch[] = [];
  readonly members: Subscription[] = [];
  private turn = 0;
  /** When the last member left (ms, Date.now()), or 0 while it has members. */
  emptySince = 0;
  redelivered = 0;

  constructor(
    readonly name: string,
    startOffset: number,
  ) {
    this.cursor = startOffset;
    this.committed = startOffset;
  }

  join(member: Subscription): void {
    this.members.push(member);
    this.emptySince = 0;
  }

  /** The member's unacknowledged batches go back, to be delivered to the others first. */
  leave(member: Subscription): void {
    const at = this.members.indexOf(member);
    if (at < 0) return;
    this.members.splice(at, 1);
    if (this.members.length === 0) this.emptySince = Date.now();
    const handedBack = member.takePending();
    if (handedBack.length > 0) {
      this.redeliver = [...this.redeliver, ...handedBack].sort((a, b) => a.offset - b.offset);
      this.redelivered += handedBack.reduce((s, b) => s + b.count, 0);
    }
  }

  /** Hands out batches while some member has credit and there is something to hand out. */
  pump(log: TopicLog): void {
    for (;;) {
      const again = this.redeliver.length > 0;
      if (!again && this.cursor >= log.durableOffset) return;
      // The turn moves only when a batch is handed out, so members alternate batch by batch.
      const member = this.nextReady();
      if (member === undefined) return;
      let batch: StoredBatch | undefined;
      if (again) batch = this.redeliver.shift();
      else {
        try {
          batch = log.read(this.cursor);
        } catch (error) {
          // Not readable this moment (out of descriptors): the log pumps the topic again shortly.
          if (error instanceof BatchUnavailableError) return;
          throw error;
        }
        if (batch === undefined) throw new Error(`group ${this.name}: no batch at offset ${this.cursor}`);
        this.cursor += batch.count;
      }
      member.send(batch as StoredBatch, again);
    }
  }

  /** A member acknowledged `batch`: the committed offset moves up over every batch now done. */
  acknowledged(batch: StoredBatch): void {
    if (batch.offset !== this.committed) {
      this.ackedAhead.set(batch.offset, batch.count);
      return;
    }
    this.committed += batch.count;
    for (let next = this.ackedAhead.get(this.committed); next !== undefined; next = this.ackedAhead.get(this.committed)) {
      this.ackedAhead.delete(this.committed);
      this.committed += next;
    }
  }

  /** The next member, in turn, with credit and a connection that can take output. */
  private nextReady(): Subscription | undefined {
    const n = this.members.length;
    for (let k = 0; k < n; k++) {
      const member = this.members[(this.turn + k) % n];
      if (member.canTake) {
        this.turn = (this.turn + k + 1) % n;
        return member;
      }
    }
    return undefined;
  }
}
