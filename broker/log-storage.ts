/**
 * Topics kept in the write-ahead log (`nanomq broker --log DIR`): a restarted broker has every
 * acknowledged message, and its consumer groups resume from their committed offsets.
 *
 *   DIR/topics/topic-<name>/             one log per topic (wal/: segment files, LOCK)
 *   DIR/topics/topic-<name>/groups.json  {"<group>": committed offset, …}, replaced atomically
 *
 * (The `topic-` prefix keeps names such as `..` from meaning anything to the file system.)
 *
 * What is acknowledged when: a PUBLISH is acknowledged (PUBACK) once its batch is durable under
 * the policy (wal/log.ts): `none` once written, `always` after the fdatasync of that batch (run
 * on the event loop: every batch waits for its own), `batch` after the group commit that covers
 * it, run on libuv's thread pool while the broker goes on reading, so batches that arrive during
 * one fdatasync share the next. Subscribers are sent only durable batches.
 *
 * Delivery comes from memory for what was published since the start: each topic keeps the
 * batches some subscriber or group still needs (as in memory mode, bounded by the publishers'
 * windows). What the restored groups still needed at the start stays on disk and is read a
 * batch at a time as they take it (LoggedTopic.readBacklog). Committed offsets are written at most
 * every COMMIT_EVERY_MS, so after a crash a group may be sent again what it acknowledged in the
 * last moments before (at least once, as for a member that leaves). Plain subscriptions are not
 * kept: a subscriber starts at the end of the topic, as before.
 */
import { join } from 'node:path';
import { type LogFiles, makeDurableDirectory, nodeFiles } from '../wal/files.js';
import { type DurabilityPolicy, type GroupCommit, nowNs, WriteAheadLog } from '../wal/log.js';
import { KEY_FILE } from '../wal/log-key.js';
import { LogReader } from '../wal/reader.js';
import { listSegments } from '../wal/segments.js';
import { BatchUnavailableError, MemoryTopicLog, type Storage, type StoredBatch, type TopicLog } from './storage.js';

export interface LogStorageOptions {
  readonly durability: DurabilityPolicy;
  readonly groupCommit?: Partial<GroupCommit>;
  readonly segmentBytes?: number;
  readonly retentionBytes?: number;
  readonly retentionMs?: number;
  /** The file system under the logs (tests: one that fails or loses power). */
  readonly files?: LogFiles;
}

const TOPIC_PREFIX = 'topic-';
/** Backlog readers a topic keeps open (each holds a descriptor and a 1 MiB buffer): one per group draining it, up to this. */
const MAX_BACKLOG_READERS = 4;
/** How soon groups are pumped again after the descriptors ran out on a backlog read. */
const BACKLOG_RETRY_MS = 100;

const COMMIT_EVERY_MS = 100;

class LoggedTopic implements TopicLog {
  onDurable: (() => void) | null = null;
  private readonly memory: MemoryTopicLog;
  /** Appended batches not yet durable, oldest first: the offset after each, and whom to tell. */
  private readonly waiting: { end: number; stored: () => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private committedTimer: NodeJS.Timeout | null = null;
  private readCommitted: (() => ReadonlyMap<string, number>) | null = null;
  private lastCommitted = '{}';
  /** The last timed write of groups.json failed (said once until one succeeds). */
  private commitFailing = false;

  /**
   * The backlog a restart found, [backlogStart, backlogEnd): what the restored groups had not
   * acknowledged. It stays on disk and is read a batch at a time as the groups' credit asks for
   * it (readBacklog), never all at once: a long backlog, or a crash loop that adds to it, costs
   * no memory beyond the batches in flight. Batches published after the restart are in memory.
   */
  private backlogStart: number;
  private readonly backlogEnd: number;
  /**
   * Readers of the backlog keyed by the offset each reads next: one per group draining it, so
   * groups that take turns each read on sequentially (a single reader, reopened at every turn,
   * scanned its segment from the start each time: quadratic, and any client with two groups
   * could make the broker do it). At most MAX_BACKLOG_READERS, the least recently used closed.
   */
  private readonly readers = new Map<number, LogReader>();
  /** The backlog batch read last. */
  private lastBatch: StoredBatch | undefined;
  /** Descriptors ran out on a read: the groups are pumped again a little later. */
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: WriteAheadLog,
    private readonly dir: string,
    from: number,
    committedJson: string,
    private readonly files: LogFiles,
  ) {
    this.lastCommitted = committedJson;
    this.holdForGroups(Object.values(JSON.parse(committedJson) as Record<string, number>));
    this.backlogStart = from;
    this.backlogEnd = log.endOffset;
    this.memory = new MemoryTopicLog(log.endOffset);
    // The backlog is checked now, record by record, and nothing of it kept: damage in a sealed
    // segment refuses the start (LogCorruptError, naming the file), as recovery does, rather
    // than stopping a broker that is already serving when a group reaches it.
    if (from < this.backlogEnd) {
      const reader = new LogReader(dir, from, files);
      try {
        while (reader.next(this.backlogEnd) !== null) {}
      } finally {
        reader.close();
      }
    }
  }

  get startOffset(): number {
    return this.backlogStart < this.backlogEnd ? this.backlogStart : this.memory.startOffset;
  }

  get endOffset(): number {
    return this.memory.endOffset;
  }

  get durableOffset(): number {
    return this.log.durableOffset;
  }

  get retainedBytes(): number {
    return this.memory.retainedBytes;
  }

  /** Nothing on disk, nothing waiting for a sync, no sync under way: closing it now loses and breaks nothing. */
  get disposable(): boolean {
    return this.log.endOffset === this.log.startOffset && this.waiting.length === 0 && !this.log.syncInFlight && this.timer === null && this.immediate === null;
  }

  append(records: Uint8Array, count: number, stored: () => void): StoredBatch {
    try {
      this.log.append(records, count);
    } catch (error) {
      // A write (or, under `always`, an fdatasync) that failed leaves the file's state unknown
      // and the log's offsets ahead of memory: as for a failed group commit, stop without
      // acknowledging, and let recovery decide (docs/wal.md).
      process.stderr.write(`nanomq broker: writing to ${this.dir} failed (${(error as Error).message}); stopping without acknowledging\n`);
      process.exit(70);
    }
    const batch = this.memory.append(records, count, () => {});
    if (this.log.durableOffset >= this.memory.endOffset) {
      stored();
      return batch;
    }
    this.waiting.push({ end: this.memory.endOffset, stored });
    this.scheduleSync();
    return batch;
  }

  read(offset: number): StoredBatch | undefined {
    if (offset >= this.backlogEnd || offset < this.backlogStart) return this.memory.read(offset);
    return this.readBacklog(offset);
  }

  /** The batch at `offset` in the restart's backlog, read from the log (a copy: the reader's buffer is reused). */
  private readBacklog(offset: number): StoredBatch | undefined {
    // Groups in step ask for the same batch one after the other: the same copy serves them, as
    // a batch in memory serves every group.
    if (this.lastBatch?.offset === offset) return this.lastBatch;
    try {
      let reader = this.readers.get(offset);
      if (reader === undefined) {
        // The least recently used reader goes first, so a process at its descriptor limit has one.
        if (this.readers.size >= MAX_BACKLOG_READERS) {
          const [oldest, stale] = this.readers.entries().next().value as [number, LogReader];
          stale.close();
          this.readers.delete(oldest);
        }
        reader = new LogReader(this.dir, offset, this.files);
      } else this.readers.delete(offset);
      const r = reader.next(this.backlogEnd);
      if (r === null || r.offset !== offset) {
        reader.close();
        return undefined;
      }
      const batch = { offset, count: r.count, records: r.bytes.slice(r.bodyStart, r.bodyStart + r.bodyLength) };
      this.lastBatch = batch;
      // A reader already parked where this one now stands (another group's) is kept; this one closes.
      if (reader.offset < this.backlogEnd && !this.readers.has(reader.offset)) this.readers.set(reader.offset, reader);
      else reader.close();
      return batch;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EMFILE' || code === 'ENFILE') {
        // Out of file descriptors (many connections): not the disk's fault. Nothing is handed
        // out now; the groups are pumped again shortly.
        this.retry ??= setTimeout(() => {
          this.retry = null;
          this.onDurable?.();
        }, BACKLOG_RETRY_MS);
        throw new BatchUnavailableError(offset, code);
      }
      // The log cannot be read back (an EIO, damage that appeared since the start): what the
      // groups are owed is unknown, so stop, as for a failed write, and let recovery decide.
      process.stderr.write(`nanomq broker: reading ${this.dir} back at offset ${offset} failed (${(error as Error).message}); stopping\n`);
      process.exit(70);
    }
  }

  private closeReaders(): void {
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
    this.lastBatch = undefined;
  }

  trimBefore(offset: number): StoredBatch[] {
    // The backlog's batches were never in memory and have no publisher to give bytes back to.
    if (this.backlogStart < this.backlogEnd) {
      this.backlogStart = Math.min(offset, this.backlogEnd);
      if (this.backlogStart === this.backlogEnd) this.closeReaders();
    }
    return offset > this.memory.startOffset ? this.memory.trimBefore(offset) : [];
  }

  keepCommitted(read: () => ReadonlyMap<string, number>): void {
    this.readCommitted = read;
  }

  /** Written at once; then every COMMIT_EVERY_MS while the topic has groups (an idle topic costs no timer). */
  groupsChanged(): void {
    this.writeCommitted();
    const groups = this.readCommitted?.().size ?? 0;
    if (groups > 0 && this.committedTimer === null) {
      this.committedTimer = setInterval(() => {
        try {
          this.writeCommitted();
          if (this.commitFailing) process.stderr.write(`nanomq broker: ${join(this.dir, 'groups.json')} is written again\n`);
          this.commitFailing = false;
        } catch (error) {
          // Committed offsets not saved this time (a full disk, no file descriptors): a restart
          // would start the groups earlier and redeliver, never skip (retention holds what the
          // offsets on disk need). Said once, tried again every COMMIT_EVERY_MS.
          if (!this.commitFailing)
            process.stderr.write(`nanomq broker: cannot write ${join(this.dir, 'groups.json')}: ${(error as Error).message} (trying again)\n`);
          this.commitFailing = true;
        }
      }, COMMIT_EVERY_MS);
      this.committedTimer.unref();
    } else if (groups === 0 && this.committedTimer !== null) {
      clearInterval(this.committedTimer);
      this.committedTimer = null;
    }
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    if (this.committedTimer !== null) clearInterval(this.committedTimer);
    this.closeReaders();
    if (this.retry !== null) clearTimeout(this.retry);
    this.log.close();
    this.release();
    this.writeCommitted();
  }

  /** Group commit: now when due, else when the oldest waiting append reaches the delay. */
  private scheduleSync(): void {
    if (this.log.syncInFlight || this.timer !== null || this.immediate !== null) return;
    const delayMs = this.log.syncDelayNs(nowNs()) / 1e6;
    if (delayMs < 0) return;
    // Timers are whole milliseconds: below one, the next turn of the event loop (after the
    // socket reads already waiting, which then share this fdatasync) is the nearest moment.
    if (delayMs < 1 || this.log.syncDue(nowNs())) this.immediate = setImmediate(() => this.syncNow());
    else this.timer = setTimeout(() => this.syncNow(), delayMs);
  }

  private syncNow(): void {
    this.timer = null;
    this.immediate = null;
    this.log.syncAsync((error) => {
      // A failed fdatasync leaves the page cache's state unknown (PostgreSQL's "fsyncgate"):
      // retrying could acknowledge lost data, so the broker stops and recovery decides.
      if (error !== null) {
        process.stderr.write(`nanomq broker: fdatasync of ${this.dir} failed (${error.message}); stopping without acknowledging\n`);
        process.exit(70);
      }
      this.release();
      this.onDurable?.();
      if (this.waiting.length > 0) this.scheduleSync();
    });
  }

  /** Tells the publishers of every batch now durable, oldest first. */
  private release(): void {
    const durable = this.log.durableOffset;
    let n = 0;
    while (n < this.waiting.length && this.waiting[n].end <= durable) this.waiting[n++].stored();
    this.waiting.splice(0, n);
  }

  /**
   * Replaces groups.json when a committed offset moved: written aside, synced, renamed over, and
   * the rename made durable in the directory (else a power cut could bring the old file back).
   */
  private writeCommitted(): void {
    if (this.readCommitted === null) return;
    const committed = this.readCommitted();
    const json = JSON.stringify(Object.fromEntries(committed));
    if (json === this.lastCommitted) return;
    const files = this.files;
    const path = join(this.dir, 'groups.json');
    const fd = files.open(`${path}.tmp`, 'w');
    try {
      files.write(fd, json);
      files.syncFile(fd);
    } finally {
      files.close(fd);
    }
    files.rename(`${path}.tmp`, path);
    files.syncDirectory(this.dir);
    this.lastCommitted = json;
    this.holdForGroups(committed.values());
  }

  /**
   * Retention keeps what the groups' committed offsets on disk still need: a broker restarted
   * after a crash resumes each group there, so a segment deleted above it would be a silent skip
   * of acknowledged messages the group never had. (Offsets only in memory are ahead of these.)
   */
  private holdForGroups(committedOnDisk: Iterable<number>): void {
    // Math.min of nothing is Infinity: no groups, no floor.
    this.log.retentionFloor = Math.min(...committedOnDisk);
  }
}

export class LogStorage implements Storage {
  private readonly topics = new Map<string, LoggedTopic>();
  private readonly found: { name: string; groups: ReadonlyMap<string, number> }[] = [];
  private readonly root: string;
  private readonly files: LogFiles;

  /** Opens every topic already in `dir` (recovering each log); throws LogLockedError or LogCorruptError. */
  constructor(
    dir: string,
    private readonly options: LogStorageOptions,
  ) {
    this.root = join(dir, 'topics');
    const files = options.files ?? nodeFiles;
    this.files = files;
    makeDurableDirectory(files, this.root);
    try {
      for (const entry of files.list(this.root)) {
        if (!entry.startsWith(TOPIC_PREFIX) || !isDirectory(files, join(this.root, entry))) continue;
        const name = entry.slice(TOPIC_PREFIX.length);
        const groups = readGroups(files, join(this.root, entry));
        this.topics.set(name, this.openTopic(name, groups));
        this.found.push({ name, groups });
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  restored(): { name: string; groups: ReadonlyMap<string, number> }[] {
    return this.found;
  }

  topic(name: string): TopicLog {
    let topic = this.topics.get(name);
    if (topic === undefined) {
      topic = this.openTopic(name, new Map());
      this.topics.set(name, topic);
    }
    return topic;
  }

  close(): void {
    for (const t of this.topics.values()) t.close();
    this.topics.clear();
  }

  /**
   * Closes the topic's log and removes its directory: only the files the log and this storage
   * write there (segments and the KEY; the LOCK goes with the close; groups.json), then the directory itself,
   * which fails, leaving it and saying why, if anything else is in it. The removal is made
   * durable in `topics/`.
   */
  delete(name: string): void {
    const topic = this.topics.get(name);
    if (topic === undefined) return;
    this.topics.delete(name);
    topic.close();
    const dir = join(this.root, TOPIC_PREFIX + name);
    const files = this.files;
    for (const segment of listSegments(dir, files)) files.unlink(segment.path);
    for (const file of [KEY_FILE, 'groups.json', 'groups.json.tmp']) {
      try {
        files.unlink(join(dir, file));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    files.rmdir(dir);
    files.syncDirectory(this.root);
  }

  private openTopic(name: string, groups: ReadonlyMap<string, number>): LoggedTopic {
    const dir = join(this.root, TOPIC_PREFIX + name);
    const { durability, groupCommit, segmentBytes, retentionBytes, retentionMs } = this.options;
    // The log makes its directory durable in topics/ before anything is written in it.
    const log = WriteAheadLog.open(dir, { durability, groupCommit, segmentBytes, retentionBytes, retentionMs, files: this.files });
    try {
      // Groups resume at their committed offsets; none: nothing before the end is needed.
      let from = log.endOffset;
      for (const offset of groups.values()) from = Math.min(from, offset);
      // Retention keeps what groups need (holdForGroups); a log from before that rule, or one
      // cut by hand, may not have it: the skip is said, with its size, never silent.
      for (const [group, offset] of groups) {
        if (offset < log.startOffset) {
          process.stderr.write(
            `nanomq broker: topic ${name}: group ${group} resumes at offset ${log.startOffset}, not its committed ${offset}: ${log.startOffset - offset} acknowledged message(s) were deleted by retention before it had them\n`,
          );
        }
      }
      from = Math.max(from, log.startOffset);
      return new LoggedTopic(log, dir, from, JSON.stringify(Object.fromEntries(groups)), this.files);
    } catch (error) {
      log.close();
      throw error;
    }
  }
}

function isDirectory(files: LogFiles, path: string): boolean {
  try {
    files.list(path);
    return true;
  } catch {
    return false;
  }
}

function readGroups(files: LogFiles, dir: string): Map<string, number> {
  let text: string;
  try {
    text = new TextDecoder().decode(files.readFile(join(dir, 'groups.json')));
  } catch {
    return new Map();
  }
  const parsed: unknown = JSON.parse(text);
  const groups = new Map<string, number>();
  if (parsed !== null && typeof parsed === 'object') {
    for (const [name, offset] of Object.entries(parsed)) if (Number.isSafeInteger(offset) && (offset as number) >= 0) groups.set(name, offset as number);
  }
  return groups;
}
