/**
 * Where a topic's messages live between publish and the last acknowledgement. The broker keeps
 * them in memory (MemoryTopicLog); the durable log replaces this behind the same interface.
 *
 * Messages are stored in the batches they were published in: a batch is the unit the broker
 * delivers and a consumer group assigns, so a batch's records are sent on as they arrived,
 * never re-encoded. Offsets number messages from 0 in each topic; a batch's offset is its first
 * message's.
 */

export interface StoredBatch {
  /** Offset of the batch's first message in its topic. */
  readonly offset: number;
  /** Messages in the batch (1..256). */
  readonly count: number;
  /** The batch's records, exactly as a DELIVER body carries them (broker/frames.ts). */
  readonly records: Uint8Array;
}

export interface TopicLog {
  /** Offset of the oldest message still kept. */
  readonly startOffset: number;
  /** Offset the next appended message will get. */
  readonly endOffset: number;
  /** Bytes of records kept. */
  readonly retainedBytes: number;
  /** Appends one batch (the log keeps `records`; the caller must not reuse them). */
  append(records: Uint8Array, count: number): StoredBatch;
  /** The batch whose first message is at `offset`, or undefined when it is not kept. */
  read(offset: number): StoredBatch | undefined;
  /** Drops every batch before `offset` (which must be a batch boundary); returns the dropped ones. */
  trimBefore(offset: number): StoredBatch[];
}

export interface Storage {
  /** The log of topic `name`, made on first use. */
  topic(name: string): TopicLog;
}

/** Batches in a map by offset: each batch leads to the next by offset + count. */
export class MemoryTopicLog implements TopicLog {
  startOffset = 0;
  endOffset = 0;
  retainedBytes = 0;
  private readonly batches = new Map<number, StoredBatch>();

  append(records: Uint8Array, count: number): StoredBatch {
    const batch: StoredBatch = { offset: this.endOffset, count, records };
    this.batches.set(batch.offset, batch);
    this.endOffset += count;
    this.retainedBytes += records.length;
    return batch;
  }

  read(offset: number): StoredBatch | undefined {
    return this.batches.get(offset);
  }

  trimBefore(offset: number): StoredBatch[] {
    const dropped: StoredBatch[] = [];
    while (this.startOffset < offset) {
      const batch = this.batches.get(this.startOffset);
      if (batch === undefined) throw new Error(`trim to ${offset}: no batch at ${this.startOffset}`);
      this.batches.delete(batch.offset);
      this.retainedBytes -= batch.records.length;
      this.startOffset += batch.count;
      dropped.push(batch);
    }
    return dropped;
  }
}

export class MemoryStorage implements Storage {
  private readonly topics = new Map<string, MemoryTopicLog>();

  topic(name: string): TopicLog {
    let log = this.topics.get(name);
    if (log === undefined) {
      log = new MemoryTopicLog();
      this.topics.set(name, log);
    }
    return log;
  }
}
