/**
 * `wal`: the write-ahead log (wal/) as a queue between two threads, so scenarios measure what
 * durability costs with the same checks as every other queue. The producer appends, the consumer
 * tails the segment files; a message reaches the consumer only once it is as durable as the
 * policy says (`durability: none | batch | always`), so latency includes the fdatasync that
 * acknowledged it.
 *
 * What moves where:
 *   - a claim lays records out in private staging memory in the rings' framing (records.ts:
 *     length, type, bytes, padding to 8); commit appends the batch as one log record (one 64-byte
 *     header and CRC32, one `writev`): one copy into the page cache;
 *   - the producer then publishes the log's durable offset in shared memory (policy `batch`:
 *     after the group commit that covers it, which it starts when enough is unsynced or the
 *     oldest unsynced append is old enough, on the log's sync thread, and sees end at a later
 *     commit while it goes on appending; when it goes idle (an open-loop gap, a full log) it
 *     waits for that sync and syncs the rest itself);
 *   - the consumer `pread`s records below the published offset into its own buffer (the second
 *     copy), checks each record's CRC, and visits the messages there.
 * Flow control: the producer may be at most `capacity` bytes of log records ahead of the
 * consumer, as with a ring, so a throughput run does not fill the disk; segments behind both are
 * deleted (retention by size).
 *
 * The words the two threads share: layout.ts.
 *
 * The log lives in a fresh directory under NANOMQ_WAL_DIR (default: the OS temporary directory),
 * deleted by `destroy` when the trial ends. Put NANOMQ_WAL_DIR on the disk you mean to measure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type DurabilityPolicy, nowNs, WriteAheadLog } from '../../wal/log.js';
import { LogReader, type LogRecord } from '../../wal/reader.js';
import { LOG_RECORD_HEADER_BYTES } from '../../wal/record.js';
import type { BackendCounters, Consumer, MessageVisitor, Producer, QueueBackend, QueueDescriptor, WaitOutcome } from '../contract.js';
import { EventCount } from '../shared/ring/event-count.js';
import { readOneInto, writeOneFrom } from '../shared/ring/one-message.js';
import { RecordStaging } from '../shared/ring/record-staging.js';
import { RING_RECORD_HEADER_BYTES, ringRecordBytes } from '../shared/ring/records.js';
import { checkClaim } from '../shared/ring/ring-memory.js';
import { CONSUMED, CONTROL_BYTES, DATA_EVENTS, PUBLISHED, SPACE_EVENTS } from './layout.js';

interface WalDescriptor extends QueueDescriptor {
  readonly dir: string;
  readonly durability: DurabilityPolicy;
  readonly memory: SharedArrayBuffer;
  readonly capacityBytes: number;
  readonly segmentBytes: number;
}

const SEGMENT_BYTES = 64 * 1024 * 1024;
const DIR_PREFIX = 'nanomq-wal-';

class WalProducer implements Producer {
  private readonly log: WriteAheadLog;
  private readonly words: Int32Array;
  private readonly capacity: number;
  private readonly spaceEvents: EventCount;
  private readonly dataEvents: EventCount;
  private readonly staging = new RecordStaging();
  private claimed = 0;
  private lastNeed = 0;
  /** Bytes of log records appended (mod 2^32), compared with what the consumer has read. */
  private written = 0;
  private published = 0;
  private readonly hasSpace = () => this.freeBytes() >= this.lastNeed;

  constructor(d: WalDescriptor) {
    // syncThread: this thread spins in claim/commit and never reaches its event loop, so a
    // group's fdatasync runs on a thread of its own while the next group is appended.
    this.log = WriteAheadLog.open(d.dir, {
      durability: d.durability,
      segmentBytes: d.segmentBytes,
      retentionBytes: d.capacityBytes + 2 * d.segmentBytes,
      syncThread: true,
    });
    this.words = new Int32Array(d.memory);
    this.capacity = d.capacityBytes;
    this.spaceEvents = new EventCount(this.words, SPACE_EVENTS);
    this.dataEvents = new EventCount(this.words, DATA_EVENTS);
  }

  get buffer(): Uint8Array {
    return this.staging.bytes;
  }

  claim(max: number, length: number): number {
    const size = checkClaim(this.claimed !== 0, length, this.capacity - 2 * LOG_RECORD_HEADER_BYTES);
    const n = Math.min(max, ((this.freeBytes() - LOG_RECORD_HEADER_BYTES) / size) | 0);
    if (n <= 0) {
      this.lastNeed = size + LOG_RECORD_HEADER_BYTES;
      // The consumer reads only what is durable: what is not yet goes to the disk now.
      this.makeProgress();
      return 0;
    }
    this.staging.layOut(n, size, length);
    this.claimed = n;
    return n;
  }

  offsetOf(i: number): number {
    return this.staging.offsetOf(i);
  }

  commit(): void {
    if (this.claimed === 0) return;
    const bytes = this.claimed * this.staging.size;
    this.log.append(this.staging.bytes.subarray(0, bytes), this.claimed);
    this.written = (this.written + LOG_RECORD_HEADER_BYTES + bytes) | 0;
    this.claimed = 0;
    if (this.log.durability === 'batch') this.log.syncIfDue(nowNs());
    this.publish();
  }

  abort(): void {
    this.claimed = 0;
  }

  tryWrite(message: Uint8Array): boolean {
    return writeOneFrom(this, message);
  }

  /** Nothing to send for now: make durable what is not yet, so it does not wait for the next send. */
  idle(): void {
    if (this.log.durableOffset < this.log.endOffset) {
      this.log.sync();
      this.publish();
    }
  }

  awaitSpace(timeoutMs: number): WaitOutcome {
    // Room comes back as the consumer reads, and it reads only what is durable: while a group's
    // fdatasync runs, wait for it (the consumer reads what the last one covered meanwhile),
    // publish it, and hand what followed to the sync thread, so the disk does not wait on this
    // thread. Sleep on the consumer only once everything appended is durable and published.
    if (this.log.durability === 'batch') {
      this.makeProgress();
      while (!this.hasSpace() && this.log.syncInFlight) {
        this.log.awaitSyncThread();
        this.makeProgress();
      }
      // Asking syncInFlight takes the outcome of a sync that has just ended: publish what it made durable.
      this.makeProgress();
    }
    return this.spaceEvents.await(this.hasSpace, timeoutMs);
  }

  /** Policy batch, with no room to append: everything unsynced on its way to the disk, nothing waited for. */
  private makeProgress(): void {
    if (this.log.durability !== 'batch') return;
    this.log.syncSoon();
    this.publish();
  }

  counters(): BackendCounters {
    return { fsyncs: this.log.syncs, fsyncMs: Math.round(this.log.syncNs / 1e4) / 100, segments: this.log.segmentCount };
  }

  close(): void {
    this.abort();
    this.log.close();
    this.publish();
  }

  private freeBytes(): number {
    return this.capacity - ((this.written - Atomics.load(this.words, CONSUMED)) | 0);
  }

  private publish(): void {
    const durable = this.log.durableOffset;
    if (durable === this.published) return;
    this.published = durable;
    Atomics.store(this.words, PUBLISHED, durable | 0);
    this.dataEvents.signal();
  }
}

class WalConsumer implements Consumer {
  private readonly reader: LogReader;
  private readonly words: Int32Array;
  private readonly spaceEvents: EventCount;
  private readonly dataEvents: EventCount;
  private record: LogRecord | null = null;
  private bytes: Uint8Array = new Uint8Array(0);
  private recordWords: Int32Array = new Int32Array(0);
  private at = 0;
  private left = 0;
  private consumed = 0;
  private reads = 0;
  private readonly hasData = () => this.left > 0 || this.available() > 0;

  constructor(d: WalDescriptor) {
    this.reader = new LogReader(d.dir, 0);
    this.words = new Int32Array(d.memory);
    this.spaceEvents = new EventCount(this.words, SPACE_EVENTS);
    this.dataEvents = new EventCount(this.words, DATA_EVENTS);
  }

  drain(max: number, visit: MessageVisitor): number {
    let n = 0;
    while (n < max) {
      if (this.left === 0 && !this.nextRecord()) break;
      const at = this.at;
      const length = this.recordWords[at >> 2];
      // `at` moves past a message only after its visit returns (contract.ts).
      visit(this.bytes, at + RING_RECORD_HEADER_BYTES, length);
      this.at = at + ringRecordBytes(length);
      n++;
      if (--this.left === 0) this.release();
    }
    return n;
  }

  tryRead(destination: Uint8Array): number {
    return readOneInto(this, destination);
  }

  awaitData(timeoutMs: number): WaitOutcome {
    return this.dataEvents.await(this.hasData, timeoutMs);
  }

  counters(): BackendCounters {
    return { logReads: this.reads };
  }

  close(): void {
    this.reader.close();
  }

  /** Messages published but not yet read into a record. */
  private available(): number {
    return (Atomics.load(this.words, PUBLISHED) - this.reader.offset) | 0;
  }

  private nextRecord(): boolean {
    const available = this.available();
    if (available <= 0) return false;
    const record = this.reader.next(this.reader.offset + available);
    if (record === null) throw new Error(`${this.reader.dir}: offset ${this.reader.offset} is acknowledged but not in the log`);
    this.reads++;
    if (record.bytes !== this.bytes) {
      this.bytes = record.bytes;
      this.recordWords = new Int32Array(record.bytes.buffer, record.bytes.byteOffset, record.bytes.length >> 2);
    }
    this.record = record;
    this.at = record.bodyStart;
    this.left = record.count;
    return true;
  }

  /** The whole record is read: give its bytes back to the producer. */
  private release(): void {
    if (this.record === null) return;
    this.consumed = (this.consumed + LOG_RECORD_HEADER_BYTES + this.record.bodyLength) | 0;
    this.record = null;
    Atomics.store(this.words, CONSUMED, this.consumed);
    this.spaceEvents.signal();
  }
}

export const wal: QueueBackend = {
  id: 'wal',
  description: "NanoMQ's write-ahead log (CRC32 records in segment files) between two threads: appended, made durable per policy, read back from the files",
  traits: { maxProducers: 1, maxConsumers: 1, zeroCopyRead: false, zeroCopyWrite: false, canBlock: true, sharedMemory: false, durable: true },
  available: () => ({ available: true, reason: `log files under ${process.env.NANOMQ_WAL_DIR ?? tmpdir()} (NANOMQ_WAL_DIR)` }),
  create(options): WalDescriptor {
    const dir = mkdtempSync(join(process.env.NANOMQ_WAL_DIR ?? tmpdir(), DIR_PREFIX));
    // The first segment exists before either side attaches, so the consumer can open it first.
    WriteAheadLog.open(dir).close();
    const memory = new SharedArrayBuffer(CONTROL_BYTES);
    const capacityBytes = Math.max(options.capacityBytes, 2 * (ringRecordBytes(options.maxMessageBytes) + 2 * LOG_RECORD_HEADER_BYTES));
    return {
      backend: 'wal',
      dir,
      durability: options.durability ?? 'none',
      memory,
      sharedBytes: memory.byteLength,
      capacityBytes,
      segmentBytes: SEGMENT_BYTES,
    };
  },
  producer: (d) => new WalProducer(d as WalDescriptor),
  consumer: (d) => new WalConsumer(d as WalDescriptor),
  destroy(d) {
    const dir = (d as WalDescriptor).dir;
    // Only a directory this backend made: never a path a descriptor could be made to name.
    if (basename(dir).startsWith(DIR_PREFIX)) rmSync(dir, { recursive: true, force: true });
  },
};
