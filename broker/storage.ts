/**
 * Where a topic's messages live between publish and the last acknowledgement. The broker keeps
 * them in memory (MemoryTopicLog) or, with `--log DIR`, also in the write-ahead log
 * (log-storage.ts), behind the same interface.
 *
 * Messages are stored in the batches they were published in: a batch is the unit the broker
 * delivers and a consumer group assigns, so a batch's records are sent on as they arrived,
 * never re-encoded. Offsets number messages from 0 in each topic; a batch's offset is its first
 * message's.
 */

import { OffsetQueue } from './offset-queue.js';

export interface StoredBatch {
  /** Offset of the batch's first message in its topic. */
  readonly offset: number;
  /** Messages in the batch (1..256). */
  readonly count: number;
  /** The batch's records, exactly as a DELIVER body carries them (broker/frames.ts). */
  readonly records: Uint8Array;
}

/**
 * A batch that exists but cannot be read this moment (a log on disk out of file descriptors):
 * whoever asked hands nothing out this turn, and the log pumps its topic again shortly.
 */
export class BatchUnavailableError extends Error {
  constructor(offset: number, code: string) {
    super(`batch at offset ${offset} not readable now (${code})`);
    this.name = 'BatchUnavailableError';
  }
}

export interface TopicLog {
  /** Offset of the oldest message still kept. */
  readonly startOffset: number;
  /** Offset the next appended message will get. */
  readonly endOffset: number;
  /**
   * Every message below it is stored as the broker's policy says (acknowledged to its publisher);
   * only these are delivered, so no subscriber sees a message a crash could take back.
   */
  readonly durableOffset: number;
  /** Bytes of records kept. */
  readonly retainedBytes: number;
  /**
   * False while the log may not be deleted: a durable log with records on disk (acknowledged
   * messages are the operator's to delete, by retention), or with appends or a sync under way.
   */
  readonly disposable: boolean;
  /** Called after `durableOffset` moves later than the append that moved it (set by the topic). */
  onDurable: (() => void) | null;
  /**
   * Appends one batch (the log keeps `records`; the caller must not reuse them) and calls
   * `stored` once it is durable: before returning for memory, later for a log that syncs.
   */
  append(records: Uint8Array, count: number, stored: () => void): StoredBatch;
  /** The batch whose first message is at `offset`, or undefined when it is not kept; throws BatchUnavailableError when it cannot be read this moment. */
  read(offset: number): StoredBatch | undefined;
  /** Drops every batch before `offset` (which must be a batch boundary); returns the dropped ones. */
  trimBefore(offset: number): StoredBatch[];
  /**
   * Where to read the consumer groups' committed offsets from, so a restarted broker can resume
   * them (a durable log writes them out now and then; memory has nothing to keep).
   */
  keepCommitted(read: () => ReadonlyMap<string, number>): void;
  /** A group was made, restored or dropped: a durable log records that at once, and writes out committed offsets only while there are groups. */
  groupsChanged(): void;
}

export interface Storage {
  /** The log of topic `name`, made on first use. */
  topic(name: string): TopicLog;
  /** Topics found at start (a durable storage's directory), with their groups' committed offsets. */
  restored(): { name: string; groups: ReadonlyMap<string, number> }[];
  /** Forgets topic `name` and everything it kept (a durable storage removes its directory). */
  delete(name: string): void;
  /** Writes out what is unwritten and lets go of files. */
  close(): void;
}

/** Batches in order of offset: each batch leads to the next by offset + count. */
export class MemoryTopicLog implements TopicLog {
  retainedBytes = 0;
  onDurable: (() => void) | null = null;
  private readonly batches = new OffsetQueue<StoredBatch>();

  /** A log that starts at `offset` (a restored topic's window starts where its groups resume). */
  constructor(
    public startOffset = 0,
    public endOffset = startOffset,
  ) {}

  get durableOffset(): number {
    return this.endOffset;
  }

  get disposable(): boolean {
    return true;
  }

  append(records: Uint8Array, count: number, stored: () => void): StoredBatch {
    const batch: StoredBatch = { offset: this.endOffset, count, records };
    this.batches.push(batch.offset, batch);
    this.endOffset += count;
    this.retainedBytes += records.length;
    stored();
    return batch;
  }

  keepCommitted(): void {}

  groupsChanged(): void {}

  read(offset: number): StoredBatch | undefined {
    return this.batches.get(offset);
  }

  trimBefore(offset: number): StoredBatch[] {
    const dropped: StoredBatch[] = [];
    while (this.startOffset < offset) {
      const batch = this.batches.first();
      if (batch === undefined || batch.offset !== this.startOffset) throw new Error(`trim to ${offset}: no batch at ${this.startOffset}`);
      this.batches.shift();
      this.retainedBytes -= batch.records.length;
      this.startOffset += batch.count;
      dropped.push(batch);
    }
    return dropped;
  }
}

/** Topics in memory only: a restart starts empty. */
export class MemoryStorage implements Storage {
  private readonly topics = new Map<string, MemoryTopicLog>();

  restored(): { name: string; groups: ReadonlyMap<string, number> }[] {
    return [];
  }

  close(): void {}

  delete(name: string): void {
    this.topics.delete(name);
  }

  topic(name: string): TopicLog {
    let log = this.topics.get(name);
    if (log === undefined) {
      log = new MemoryTopicLog();
      this.topics.set(name, log);
    }
    return log;
  }
}
