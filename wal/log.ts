/**
 * NanoMQ's write-ahead log: the writer's side. Append-only segment files in one directory
 * (segments.ts), each a run of records (record.ts: a 64-byte header with CRC32, the body, padding).
 *
 * Durability, per log:
 *   none    an append is acknowledged once written to the page cache (survives the process,
 *           not the machine);
 *   batch   group commit: one fdatasync for everything appended within `maxDelayUs` of the first
 *           unsynced append or once `maxMessages` are unsynced, whichever comes first;
 *   always  every append is fdatasynced before `append` returns.
 * `durableOffset` is the moment of acknowledgement made explicit: every message below it is as
 * durable as the policy says. Readers that must see only acknowledged messages read below it.
 *
 * Checkpoint and recovery: a segment is sealed (never written again; fdatasynced first under
 * `batch` and `always`) when the next one begins, so the start of the active segment is the
 * checkpoint. Opening scans the active
 * segment, checking every record's length, CRC and offset, and cuts a torn or corrupt tail at the
 * last valid record (reported in `recovery`). Damage followed by valid records is not a tail:
 * opening fails with LogCorruptError naming the file and position. Sealed segments are checked
 * when read (reader.ts) or by `verifyLog`.
 *
 * One writer per directory (lock.ts). Appends are synchronous (`writev` of header, body and
 * padding in one call): the caller decides where the thread waits. `syncAsync` lets a server on
 * an event loop (the broker) run the fdatasync on libuv's pool and keep serving meanwhile.
 */
import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writevSync } from 'node:fs';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { lockLog } from './lock.js';
import { MAX_BODY_BYTES, padTo8, RecordHeaderWriter, recordBytes } from './record.js';
import { scanSegment } from './scan.js';
import { listSegments, type SegmentFile, segmentPath } from './segments.js';

export const DURABILITY_POLICIES = ['none', 'batch', 'always'] as const;
export type DurabilityPolicy = (typeof DURABILITY_POLICIES)[number];

export interface GroupCommit {
  /** Longest an append waits for the fdatasync that covers it (policy `batch`). */
  readonly maxDelayUs: number;
  /** Unsynced messages that trigger an fdatasync at once (policy `batch`). */
  readonly maxMessages: number;
}

export interface LogOptions {
  readonly durability?: DurabilityPolicy;
  readonly groupCommit?: Partial<GroupCommit>;
  /** A segment is sealed and a new one begun once the next record would pass this size. */
  readonly segmentBytes?: number;
  /** Sealed segments are deleted, oldest first, while the log is larger than this. */
  readonly retentionBytes?: number;
  /** Sealed segments last written longer ago than this are deleted. */
  readonly retentionMs?: number;
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_GROUP_COMMIT: GroupCommit = { maxDelayUs: 1000, maxMessages: 4096 };

/** What opening the log found and did. */
export interface RecoveryReport {
  readonly segments: number;
  /** Records found valid in the active segment. */
  readonly activeRecords: number;
  readonly endOffset: number;
  /** Bytes cut from the active segment's tail (0: it ended cleanly). */
  readonly truncatedBytes: number;
  /** Where and why the cut was made. */
  readonly truncated?: { readonly file: string; readonly position: number; readonly reason: string };
}

export class LogCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly position: number,
    readonly reason: string,
  ) {
    super(
      `${file}: damaged record at byte ${position} (${reason}) with valid records after it; not a torn tail, so nothing was cut. Move the file aside or restore it from a copy`,
    );
    this.name = 'LogCorruptError';
  }
}

export class WriteAheadLog {
  readonly durability: DurabilityPolicy;
  readonly groupCommit: GroupCommit;
  readonly recovery: RecoveryReport;
  private readonly segmentBytes: number;
  private readonly retentionBytes: number;
  private readonly retentionMs: number;
  private readonly unlock: () => void;
  private readonly header = new RecordHeaderWriter();
  /** Zero padding for each length 1..7, made once: a body's padding is one of them. */
  private readonly pads = Array.from({ length: 8 }, (_, n) => new Uint8Array(n));
  private readonly parts: Uint8Array[] = [this.header.header, this.header.header, this.pads[0]];
  private segments: SegmentFile[];
  private segmentSizes: number[];
  private fd: number;
  private activeBytes: number;
  private closed = false;
  startOffset: number;
  endOffset: number;
  durableOffset: number;
  /** Messages appended since the last fdatasync began, and when the first of them was (ns). */
  private unsyncedMessages = 0;
  private firstUnsyncedNs = 0;
  private syncing = false;
  /** fdatasync calls and the time they took (ns): what durability costs, for the counters. */
  syncs = 0;
  syncNs = 0;

  private constructor(
    readonly dir: string,
    options: LogOptions,
  ) {
    this.durability = options.durability ?? 'none';
    this.groupCommit = { ...DEFAULT_GROUP_COMMIT, ...options.groupCommit };
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.retentionBytes = options.retentionBytes ?? Number.POSITIVE_INFINITY;
    this.retentionMs = options.retentionMs ?? Number.POSITIVE_INFINITY;
    mkdirSync(dir, { recursive: true });
    this.unlock = lockLog(dir);
    try {
      this.segments = listSegments(dir);
      if (this.segments.length === 0) {
        this.segments.push({ firstOffset: 0, path: segmentPath(dir, 0) });
        closeSync(openSync(this.segments[0].path, 'w'));
        syncDirectory(dir);
      }
      this.segmentSizes = this.segments.map((s) => statSync(s.path).size);
      const active = this.segments[this.segments.length - 1];
      const bytes = readFileSync(active.path);
      const scan = scanSegment(bytes, active.firstOffset);
      let truncated: RecoveryReport['truncated'];
      if (scan.problem !== undefined) {
        if (scan.problem.validRecordAfter !== null) throw new LogCorruptError(active.path, scan.problem.position, scan.problem.kind);
        truncated = { file: basename(active.path), position: scan.validBytes, reason: scan.problem.kind };
      }
      this.fd = openSync(active.path, 'r+');
      if (scan.validBytes < bytes.length) {
        ftruncateSync(this.fd, scan.validBytes);
        fdatasyncSync(this.fd);
      }
      this.activeBytes = scan.validBytes;
      this.segmentSizes[this.segmentSizes.length - 1] = scan.validBytes;
      this.startOffset = this.segments[0].firstOffset;
      this.endOffset = scan.endOffset;
      // What survived the crash is on disk now; nothing below it may be acknowledged twice.
      fdatasyncSync(this.fd);
      this.durableOffset = this.endOffset;
      this.recovery = {
        segments: this.segments.length,
        activeRecords: scan.records,
        endOffset: this.endOffset,
        truncatedBytes: bytes.length - scan.validBytes,
        ...(truncated ? { truncated } : {}),
      };
    } catch (error) {
      this.unlock();
      throw error;
    }
  }

  /** Opens (creating when absent) the log in `dir`, recovering it; throws LogLockedError or LogCorruptError. */
  static open(dir: string, options: LogOptions = {}): WriteAheadLog {
    return new WriteAheadLog(dir, options);
  }

  /** Bytes of all segments. */
  get sizeBytes(): number {
    return this.segmentSizes.reduce((a, b) => a + b, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /**
   * Appends `count` messages as one record; returns the first one's offset. With policy `always`
   * it returns once they are durable; with `batch` they are durable once `durableOffset` passes
   * them (call `syncIfDue`, `sync` or `syncAsync`); with `none` at once.
   */
  append(body: Uint8Array, count: number): number {
    if (this.closed) throw new Error(`${this.dir}: the log is closed`);
    if (count < 1 || !Number.isInteger(count)) throw new RangeError(`a record holds at least one message (count ${count})`);
    if (body.length > MAX_BODY_BYTES) throw new RangeError(`a record body of ${body.length} bytes is over the log's limit of ${MAX_BODY_BYTES}`);
    const size = recordBytes(body.length);
    if (this.activeBytes > 0 && this.activeBytes + size > this.segmentBytes) this.roll();
    const offset = this.endOffset;
    this.header.write(offset, count, body, Date.now());
    const parts = this.parts;
    parts[1] = body;
    const padding = padTo8(body.length) - body.length;
    parts.length = padding > 0 ? 3 : 2;
    if (padding > 0) parts[2] = this.pads[padding];
    const written = writevSync(this.fd, parts, this.activeBytes);
    if (written !== size) throw new Error(`${this.dir}: short write (${written} of ${size} bytes)`);
    this.activeBytes += size;
    this.segmentSizes[this.segmentSizes.length - 1] = this.activeBytes;
    this.endOffset = offset + count;
    if (this.durability === 'none') {
      this.durableOffset = this.endOffset;
    } else if (this.durability === 'always') {
      this.sync();
    } else {
      if (this.unsyncedMessages === 0) this.firstUnsyncedNs = nowNs();
      this.unsyncedMessages += count;
    }
    return offset;
  }

  /** True when policy `batch` says the unsynced messages must be synced now. */
  syncDue(nowNs: number): boolean {
    if (this.unsyncedMessages === 0) return false;
    return this.unsyncedMessages >= this.groupCommit.maxMessages || nowNs - this.firstUnsyncedNs >= this.groupCommit.maxDelayUs * 1000;
  }

  /** Nanoseconds until the oldest unsynced append reaches `maxDelayUs` (0: due now; -1: nothing unsynced). */
  syncDelayNs(nowNs: number): number {
    if (this.unsyncedMessages === 0) return -1;
    return Math.max(0, this.firstUnsyncedNs + this.groupCommit.maxDelayUs * 1000 - nowNs);
  }

  /** Group commit from a synchronous caller: syncs when due; returns true when it did. */
  syncIfDue(nowNs: number): boolean {
    if (!this.syncDue(nowNs)) return false;
    this.sync();
    return true;
  }

  /** fdatasync now, on this thread: everything appended so far becomes durable. */
  sync(): void {
    const covered = this.endOffset;
    const started = nowNs();
    fdatasyncSync(this.fd);
    this.syncNs += nowNs() - started;
    this.syncs++;
    this.unsyncedMessages = 0;
    this.durableOffset = covered;
  }

  /**
   * fdatasync on libuv's thread pool; calls `done` with the new durable offset. Appends made
   * while it runs are not covered (they wait for the next). One at a time: returns false, and
   * does nothing, while one is running.
   */
  syncAsync(done: (error: Error | null, durableOffset: number) => void): boolean {
    if (this.syncing) return false;
    this.syncing = true;
    const covered = this.endOffset;
    const fd = this.fd;
    this.unsyncedMessages = 0;
    const started = nowNs();
    fdatasync(fd, (error) => {
      this.syncing = false;
      this.syncNs += nowNs() - started;
      this.syncs++;
      if (error === null && covered > this.durableOffset) this.durableOffset = covered;
      done(error, this.durableOffset);
    });
    return true;
  }

  get syncInFlight(): boolean {
    return this.syncing;
  }

  /** Deletes sealed segments beyond the retention limits (never the active one); returns how many. */
  applyRetention(nowMs = Date.now()): number {
    let removed = 0;
    while (this.segments.length > 1) {
      const oldest = this.segments[0];
      const tooBig = this.sizeBytes > this.retentionBytes;
      const tooOld = Number.isFinite(this.retentionMs) && statSync(oldest.path).mtimeMs < nowMs - this.retentionMs;
      if (!tooBig && !tooOld) break;
      unlinkSync(oldest.path);
      this.segments.shift();
      this.segmentSizes.shift();
      removed++;
    }
    this.startOffset = this.segments[0].firstOffset;
    return removed;
  }

  /** Syncs what is unsynced (policies batch and always), closes the file and gives the lock back. */
  close(): void {
    if (this.closed) return;
    if (this.durability !== 'none' && this.durableOffset < this.endOffset) this.sync();
    this.closed = true;
    closeSync(this.fd);
    this.unlock();
  }

  /**
   * Seals the active segment and begins the next, named by the next offset. Under `batch` and
   * `always` the sealed segment is fdatasynced first (cheap: little is unsynced). Under `none`
   * it is not: that policy promises nothing beyond the page cache, and syncing 16–64 MiB of dirty
   * pages at each roll stalled the appender for ~10 ms (the tail of a `none` rate case).
   */
  private roll(): void {
    if (this.durability !== 'none') this.sync();
    closeSync(this.fd);
    const next = { firstOffset: this.endOffset, path: segmentPath(this.dir, this.endOffset) };
    this.fd = openSync(next.path, 'w+');
    syncDirectory(this.dir);
    this.segments.push(next);
    this.segmentSizes.push(0);
    this.activeBytes = 0;
    this.applyRetention();
  }
}

/**
 * The log's clock for group commit (ns): performance.now, because process.hrtime.bigint makes a
 * BigInt on every call and the log is called on measured hot paths.
 */
export function nowNs(): number {
  return performance.now() * 1e6;
}

/** Makes a new or removed file name durable: fsync on the directory itself. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
