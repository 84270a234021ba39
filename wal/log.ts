/**
 * NanoMQ's write-ahead log: the writer's side. Append-only segment files in one directory
 * (segments.ts), each a run of records (record.ts: a 64-byte header with CRC32, the body, padding).
 *
 * Durability, per log:
 *   none    an append is acknowledged once written to the page cache (survives the process,
 *           not the machine);
 *   batch   group commit: one fdatasync for everything appended within `maxDelayUs` of the first
 *           unsynced append or once `maxMessages` or `maxBytes` are unsynced, whichever comes
 *           first;
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
 *
 * Failure: the first write, fdatasync, file creation or directory sync that fails ends the log
 * (`failure`, LogFailedError from then on), and `durableOffset` never moves again. After a failed
 * fdatasync the kernel may have dropped the dirty pages and cleared the error, so a later
 * fdatasync can succeed without having written them (PostgreSQL's "fsyncgate"): retrying would
 * acknowledge what is not on disk. Recovery (reopening) decides from what the disk holds.
 *
 * Every file-system call goes through `LogFiles` (files.ts), so tests can fail any of them or
 * cut the power under the log.
 */
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type LogFiles, makeDurableDirectory, nodeFiles } from './files.js';
import { lockLog } from './lock.js';
import { createLogKey, readLogKey } from './log-key.js';
import { logRecordBytes, MAX_BODY_BYTES, padTo8, RecordHeaderWriter } from './record.js';
import { scanSegment } from './scan.js';
import { listSegments, type SegmentFile, segmentPath } from './segments.js';
import type { BackgroundSync } from './sync-thread.js';

export const DURABILITY_POLICIES = ['none', 'batch', 'always'] as const;
export type DurabilityPolicy = (typeof DURABILITY_POLICIES)[number];

export interface GroupCommit {
  /**
   * Longest an append waits before the fdatasync that covers it begins (policy `batch`); with
   * `syncThread`, a due group also waits for the running one to end, one sync at a time.
   */
  readonly maxDelayUs: number;
  /** Unsynced messages that trigger an fdatasync at once (policy `batch`). */
  readonly maxMessages: number;
  /**
   * Unsynced bytes that trigger an fdatasync at once (policy `batch`), as PostgreSQL's
   * wal_writer_flush_after: when appends come faster than the disk takes them, a group waits for
   * nothing but the sync before it (with `syncThread`, the disk then never sits idle between
   * groups: at 64 KiB messages, 0.83 → 0.94 GB/s against a disk that syncs 1.19–1.29 GB/s).
   */
  readonly maxBytes: number;
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
  /** The file system under the log (tests: one that fails or loses power). */
  readonly files?: LogFiles;
  /**
   * Policy `batch` from a caller that never yields to its event loop: `syncIfDue` starts each
   * group's fdatasync on a thread of its own (sync-thread.ts) and returns, and a later call sees
   * it end, so appends go on while the disk writes. Default false: `syncIfDue` syncs on the
   * calling thread (a server on an event loop uses `syncAsync` instead).
   */
  readonly syncThread?: boolean;
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_GROUP_COMMIT: GroupCommit = { maxDelayUs: 1000, maxMessages: 4096, maxBytes: 1024 * 1024 };

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

/** The log failed a write or a sync and acknowledges nothing more (see the file's comment). */
export class LogFailedError extends Error {
  constructor(
    readonly dir: string,
    cause: Error,
  ) {
    super(`${dir}: the log failed (${cause.message}) and acknowledges nothing more; reopen it to recover what is on disk`, { cause });
    this.name = 'LogFailedError';
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
  private readonly header: RecordHeaderWriter;
  /** Zero padding for each length 1..7, made once: a body's padding is one of them. */
  private readonly pads = Array.from({ length: 8 }, (_, n) => new Uint8Array(n));
  /** The writev parts: header, body, padding (the header's bytes are set once the key is known). */
  private readonly parts: Uint8Array[] = [this.pads[0], this.pads[0], this.pads[0]];
  private segments: SegmentFile[];
  private segmentSizes: number[];
  private fd = -1;
  private activeBytes: number;
  private closed = false;
  startOffset: number;
  endOffset: number;
  durableOffset: number;
  /** Messages appended since the last fdatasync began, and when the first of them was (ns). */
  private unsyncedMessages = 0;
  private unsyncedBytes = 0;
  private firstUnsyncedNs = 0;
  private syncing = false;
  /** Segment files closed while an fdatasync on the pool may still use them: closed when it ends. */
  private closeAfterSync: number[] = [];
  /** What a sync() on this thread covered while the pool's fdatasync ran: made durable by its end. */
  private coveredWhileSyncing = 0;
  private unlockAfterSync = false;
  /** The sync thread (option `syncThread`), and what its running fdatasync covers. */
  private background: BackgroundSync | null = null;
  private backgroundCovers = 0;
  private readonly files: LogFiles;
  /** The first failure: from then on nothing is acknowledged. */
  failure: LogFailedError | null = null;
  /**
   * Retention keeps every segment holding an offset at or above this one, whatever the limits
   * say: the broker sets it to the lowest committed offset its consumer groups have on disk,
   * so a group restarted from there finds its messages (Infinity: no floor).
   */
  retentionFloor = Number.POSITIVE_INFINITY;
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
    const files = options.files ?? nodeFiles;
    this.files = files;
    makeDurableDirectory(files, dir);
    this.unlock = lockLog(dir, files);
    try {
      this.segments = listSegments(dir, files);
      // A new log gets its key before its first segment; a log from before keys keeps key 0.
      let key = readLogKey(dir, files);
      if (key === 0 && this.segments.length === 0) key = createLogKey(dir, files);
      this.header = new RecordHeaderWriter(key);
      this.parts[0] = this.header.header;
      if (this.segments.length === 0) {
        this.segments.push({ firstOffset: 0, path: segmentPath(dir, 0) });
        files.close(files.open(this.segments[0].path, 'w'));
        files.syncDirectory(dir);
      } else {
        // Names another incarnation created and died before syncing (a roll cut short) are made
        // durable now, before anything in them counts.
        files.syncDirectory(dir);
      }
      this.segmentSizes = this.segments.map((s) => files.stat(s.path).size);
      const active = this.segments[this.segments.length - 1];
      const bytes = files.readFile(active.path);
      const scan = scanSegment(bytes, active.firstOffset, key);
      let truncated: RecoveryReport['truncated'];
      if (scan.problem !== undefined) {
        if (scan.problem.validRecordAfter !== null) throw new LogCorruptError(active.path, scan.problem.position, scan.problem.kind);
        truncated = { file: basename(active.path), position: scan.validBytes, reason: scan.problem.kind };
      }
      this.fd = files.open(active.path, 'r+');
      if (scan.validBytes < bytes.length) {
        files.truncate(this.fd, scan.validBytes);
        files.syncFile(this.fd);
      }
      this.activeBytes = scan.validBytes;
      this.segmentSizes[this.segmentSizes.length - 1] = scan.validBytes;
      this.startOffset = this.segments[0].firstOffset;
      this.endOffset = scan.endOffset;
      // What survived the crash is on disk now; nothing below it may be acknowledged twice.
      files.syncFile(this.fd);
      this.durableOffset = this.endOffset;
      this.recovery = {
        segments: this.segments.length,
        activeRecords: scan.records,
        endOffset: this.endOffset,
        truncatedBytes: bytes.length - scan.validBytes,
        ...(truncated ? { truncated } : {}),
      };
      if (options.syncThread === true && this.durability === 'batch') this.background = files.backgroundSync();
    } catch (error) {
      if (this.fd >= 0) files.close(this.fd);
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
    if (this.failure !== null) throw this.failure;
    if (count < 1 || !Number.isInteger(count)) throw new RangeError(`a record holds at least one message (count ${count})`);
    if (body.length > MAX_BODY_BYTES) throw new RangeError(`a record body of ${body.length} bytes is over the log's limit of ${MAX_BODY_BYTES}`);
    const size = logRecordBytes(body.length);
    if (this.activeBytes > 0 && this.activeBytes + size > this.segmentBytes) this.roll();
    const offset = this.endOffset;
    this.header.write(offset, count, body, Date.now());
    const parts = this.parts;
    parts[1] = body;
    const padding = padTo8(body.length) - body.length;
    parts.length = padding > 0 ? 3 : 2;
    if (padding > 0) parts[2] = this.pads[padding];
    let written: number;
    try {
      written = this.files.writev(this.fd, parts, this.activeBytes);
    } catch (error) {
      throw this.fail(error);
    }
    if (written !== size) throw this.fail(new Error(`short write (${written} of ${size} bytes)`));
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
      this.unsyncedBytes += size;
    }
    return offset;
  }

  /** True when policy `batch` says the unsynced messages must be synced now. */
  syncDue(nowNs: number): boolean {
    if (this.unsyncedMessages === 0) return false;
    return this.groupIsFull() || nowNs - this.firstUnsyncedNs >= this.groupCommit.maxDelayUs * 1000;
  }

  /** An fdatasync has begun that covers everything appended so far: the next group starts empty. */
  private beginGroup(): void {
    this.unsyncedMessages = 0;
    this.unsyncedBytes = 0;
  }

  private groupIsFull(): boolean {
    return this.unsyncedMessages >= this.groupCommit.maxMessages || this.unsyncedBytes >= this.groupCommit.maxBytes;
  }

  /** Nanoseconds until the oldest unsynced append reaches `maxDelayUs` (0: due now; -1: nothing unsynced). */
  syncDelayNs(nowNs: number): number {
    if (this.unsyncedMessages === 0) return -1;
    if (this.groupIsFull()) return 0;
    return Math.max(0, this.firstUnsyncedNs + this.groupCommit.maxDelayUs * 1000 - nowNs);
  }

  /**
   * Group commit from a synchronous caller: syncs when due; returns true when it did (with
   * `syncThread`: when it started one, and `durableOffset` moves at a later call, once it ended).
   */
  syncIfDue(nowNs: number): boolean {
    if (this.background !== null) {
      if (this.syncing || !this.backgroundIdle()) return false;
      if (!this.syncDue(nowNs)) return false;
      this.startBackground();
      return true;
    }
    if (!this.syncDue(nowNs)) return false;
    this.sync();
    return true;
  }

  /**
   * With `syncThread`: everything unsynced goes to the sync thread now, due or not, unless its
   * last fdatasync still runs; never waits. For an appender that cannot go on (its consumer
   * reads only what is durable): the disk keeps writing while it waits for room.
   */
  syncSoon(): void {
    if (this.background === null) throw new Error('syncSoon needs the option syncThread');
    if (this.syncing || !this.backgroundIdle()) return;
    // A failure the thread just reported is said here, not left for a claim that finds no room.
    if (this.failure !== null) throw this.failure;
    if (this.unsyncedMessages === 0) return;
    this.startBackground();
  }

  /** With `syncThread`: waits for the sync thread's running fdatasync, if any, and takes its outcome. */
  awaitSyncThread(): void {
    this.awaitBackground();
    if (this.failure !== null) throw this.failure;
  }

  /** Whether the sync thread is free, taking the outcome of a running fdatasync that has ended. */
  private backgroundIdle(): boolean {
    const background = this.background!;
    if (!background.running) return true;
    const outcome = background.poll();
    if (outcome === undefined) return false;
    this.backgroundEnded(outcome);
    return true;
  }

  private startBackground(): void {
    if (this.failure !== null) throw this.failure;
    // What is appended from here on is not covered: it waits for the next group.
    this.backgroundCovers = this.endOffset;
    this.beginGroup();
    this.background!.start(this.fd);
  }

  /** The sync thread's fdatasync ended: what it covered is durable, unless it or the log failed. */
  private backgroundEnded(outcome: Error | null): void {
    // The thread's own measure: noticing the end comes later, at the appender's next poll.
    this.syncNs += this.background!.lastSyncNs;
    this.syncs++;
    if (outcome !== null) this.fail(outcome);
    // Nothing counts as durable once the log has failed, even a sync that succeeded after.
    else if (this.failure === null) this.durableOffset = Math.max(this.durableOffset, this.backgroundCovers);
  }

  /** Waits for the sync thread's running fdatasync, if any (its fd must stay open until then). */
  private awaitBackground(): void {
    if (this.background?.running === true) this.backgroundEnded(this.background.wait());
  }

  /** fdatasync now, on this thread: everything appended so far becomes durable. */
  sync(): void {
    // The sync thread's fdatasync first: a success here would prove nothing while one that
    // covers earlier appends might still fail (Linux reports a writeback error to one of them).
    this.awaitBackground();
    if (this.failure !== null) throw this.failure;
    const covered = this.endOffset;
    const started = nowNs();
    try {
      this.files.syncFile(this.fd);
    } catch (error) {
      throw this.fail(error);
    }
    this.syncNs += nowNs() - started;
    this.syncs++;
    this.beginGroup();
    // With an fdatasync running on the pool for this file, Linux reports a writeback error to
    // one of the two only: this one's success proves nothing until that one has ended well, and
    // its callback moves durableOffset for both.
    if (this.syncing) this.coveredWhileSyncing = Math.max(this.coveredWhileSyncing, covered);
    else this.durableOffset = covered;
  }

  /**
   * fdatasync on libuv's thread pool; calls `done` with the new durable offset. Appends made
   * while it runs are not covered (they wait for the next). One at a time: returns false, and
   * does nothing, while one is running.
   */
  syncAsync(done: (error: Error | null, durableOffset: number) => void): boolean {
    // One at a time, the sync thread's included: Linux tells only one of two concurrent syncs of
    // a writeback error, so the other's success would prove nothing.
    if (this.syncInFlight) return false;
    if (this.failure !== null) {
      const failure = this.failure;
      setImmediate(() => done(failure, this.durableOffset));
      return true;
    }
    this.syncing = true;
    const covered = this.endOffset;
    const fd = this.fd;
    this.beginGroup();
    const started = nowNs();
    this.files.syncFileAsync(fd, (error) => {
      this.syncing = false;
      this.syncNs += nowNs() - started;
      this.syncs++;
      // The fd stayed open for this sync (roll and close wait for it); now it may go.
      for (const old of this.closeAfterSync) this.files.close(old);
      this.closeAfterSync = [];
      if (error !== null) this.fail(error);
      // Nothing counts as durable once the log has failed, even a sync that succeeded after.
      else if (this.failure === null) this.durableOffset = Math.max(this.durableOffset, covered, this.coveredWhileSyncing);
      if (this.unlockAfterSync) this.unlock();
      done(this.failure, this.durableOffset);
    });
    return true;
  }

  /** Whether an fdatasync is running on the pool or the sync thread (asking sees the latter end). */
  get syncInFlight(): boolean {
    return this.syncing || (this.background !== null && !this.backgroundIdle());
  }

  /**
   * Deletes sealed segments beyond the retention limits (never the active one, nor one holding
   * an offset at or above `retentionFloor`), and makes the deletions durable in the directory;
   * returns how many.
   */
  applyRetention(nowMs = Date.now()): number {
    if (this.failure !== null) throw this.failure;
    let removed = 0;
    try {
      while (this.segments.length > 1) {
        const oldest = this.segments[0];
        // Its messages end where the next segment begins: one a group still needs stays.
        if (this.segments[1].firstOffset > this.retentionFloor) break;
        const tooBig = this.sizeBytes > this.retentionBytes;
        const tooOld = Number.isFinite(this.retentionMs) && this.files.stat(oldest.path).mtimeMs < nowMs - this.retentionMs;
        if (!tooBig && !tooOld) break;
        this.files.unlink(oldest.path);
        this.segments.shift();
        this.segmentSizes.shift();
        removed++;
      }
      if (removed > 0) this.files.syncDirectory(this.dir);
    } catch (error) {
      throw this.fail(error);
    }
    this.startOffset = this.segments[0].firstOffset;
    return removed;
  }

  /**
   * Syncs what is unsynced (policies batch and always), closes the file and gives the lock back
   * (once an fdatasync still running on the pool has ended). A failed log closes without a sync.
   */
  close(): void {
    if (this.closed) return;
    this.awaitBackground();
    try {
      if (this.failure === null && this.durability !== 'none' && this.durableOffset < this.endOffset) this.sync();
    } finally {
      // Nothing runs on the sync thread now (awaited above): it ends even when that sync failed.
      this.background?.close();
    }
    this.closed = true;
    if (this.syncing) {
      this.closeAfterSync.push(this.fd);
      this.unlockAfterSync = true;
      return;
    }
    this.files.close(this.fd);
    this.unlock();
  }

  /** Ends the log at its first failure (see the file's comment); returns the error to throw. */
  private fail(error: unknown): LogFailedError {
    this.failure ??= new LogFailedError(this.dir, error instanceof Error ? error : new Error(String(error)));
    return this.failure;
  }

  /**
   * Seals the active segment and begins the next, named by the next offset. Under `batch` and
   * `always` the sealed segment is fdatasynced first (cheap: little is unsynced). Under `none`
   * it is not: that policy promises nothing beyond the page cache, and syncing 16–64 MiB of dirty
   * pages at each roll stalled the appender for ~10 ms (the tail of a `none` rate case).
   */
  private roll(): void {
    if (this.durability !== 'none') this.sync();
    const next = { firstOffset: this.endOffset, path: segmentPath(this.dir, this.endOffset) };
    // The new file first: should it fail, the log still has the old one open, not a stale number
    // that a later write could send into whatever file or socket reused it.
    let fd: number | undefined;
    try {
      fd = this.files.open(next.path, 'w+');
      this.files.syncDirectory(this.dir);
    } catch (error) {
      if (fd !== undefined) this.files.close(fd);
      throw this.fail(error);
    }
    // An fdatasync running on the pool still has the old fd: it is closed when that ends.
    if (this.syncing) this.closeAfterSync.push(this.fd);
    else this.files.close(this.fd);
    this.fd = fd;
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
