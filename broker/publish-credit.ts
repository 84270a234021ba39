/**
 * A connection's publish window, as the broker accounts it: the bytes its publishers have in
 * the broker (published, not yet dropped by every topic) against the one window they share.
 *
 *   window ─┬─ outstanding: batches a topic still keeps (given back when it drops them)
 *           ├─ owed: given back, not yet sent as CREDIT (sent in eighths of the window)
 *           └─ the client's credit: what it may still publish
 *
 * A batch counts its bytes plus BATCH_CREDIT_OVERHEAD (broker/frames.ts: what the broker keeps
 * per batch besides its bytes), so a window bounds its batches' objects as well as their bytes.
 * A batch is admitted only if it fits (outstanding + batch ≤ window): the client never has more
 * credit than that, so one that sends past it is lying and is cut off. The window is reserved
 * from the broker's buffered-bytes pool when the connection opens its first publisher, and given
 * back to the pool once the connection is gone and every batch it published has been dropped.
 * (The client side of the window is `Publisher` in broker/client.ts.)
 */
import { batchCredit } from './frames.js';
import type { StoredBatch } from './storage.js';
import type { CreditOwner } from './topic.js';

export class PublishCredit implements CreditOwner {
  /** Bytes published and not yet dropped by the topics. */
  outstanding = 0;
  private owed = 0;
  private scheduled = false;
  private open = true;

  constructor(
    readonly windowBytes: number,
    /** Sends a CREDIT frame (nothing once the connection is closed). */
    private readonly sendCredit: (bytes: number) => void,
    /** Gives the window back to the broker's pool: called once, when closed and nothing is outstanding. */
    private readonly release: () => void,
    /** Told of every batch dropped (the connection lets go of the memory it kept alive). */
    private readonly dropped: (batch: StoredBatch) => void,
  ) {}

  /** Counts a batch of `bytes` in; false when it does not fit the window. */
  admit(bytes: number): boolean {
    if (bytes > this.available) return false;
    this.outstanding += bytes;
    return true;
  }

  /** What the client may still publish, as the broker counts it (CREDIT held back included). */
  get available(): number {
    return this.windowBytes - this.outstanding - this.owed;
  }

  /** A batch admitted but not stored after all (its topic refused it): its bytes are not held. */
  cancel(bytes: number): void {
    this.outstanding -= bytes;
  }

  giveBack(batch: StoredBatch): void {
    this.dropped(batch);
    const bytes = batchCredit(batch.records.length);
    this.outstanding -= bytes;
    if (!this.open) {
      if (this.outstanding === 0) this.release();
      return;
    }
    this.owed += bytes;
    if (this.scheduled) return;
    // Credit goes back in eighths of the window, not after every batch: one CREDIT frame (a
    // write) per batch was a good part of the broker's CPU at 500k msg/s. Held back only while
    // the client still sees over half its window as credit, which holds two of the largest
    // messages (MIN_WINDOW_BYTES), so it never starves.
    const window = this.windowBytes;
    if (this.owed < window / 8 && this.outstanding + this.owed < window / 2) return;
    // One CREDIT frame for everything given back in this turn of the event loop.
    this.scheduled = true;
    process.nextTick(() => {
      this.scheduled = false;
      const owed = this.owed;
      this.owed = 0;
      if (this.open) this.sendCredit(owed);
    });
  }

  /** The connection is gone: its batches still in topics give their bytes back to the pool. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.owed = 0;
    if (this.outstanding === 0) this.release();
  }
}
