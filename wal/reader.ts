/**
 * Reads a log from any offset, in another thread or process than its writer, while it writes.
 *
 * `next(limit)` returns the next record (its body is a view valid until the next call), reading
 * the segment files in chunks through `readSync` and checking each record's length, CRC and
 * offset. With a `limit` (the writer's `durableOffset`, shared by the caller), everything below it
 * must be there and whole, so a bad record is corruption and throws LogCorruptError. Without one
 * (a tailer that cannot see the writer), a bad or short record at the end is taken to be an
 * append still in progress and `next` returns null; `verifyLog` is the way to tell the two apart.
 *
 * Opening at an offset inside a record returns that whole record first: the caller skips
 * `from - record.offset` messages of it (records are whole batches).
 */
import { type LogFiles, nodeFiles } from './files.js';
import { LogCorruptError } from './log.js';
import { readLogKey } from './log-key.js';
import { LOG_RECORD_HEADER_BYTES, logRecordBytes, RecordReader } from './record.js';
import { scanSegment } from './scan.js';
import { listSegments, type SegmentFile, segmentPath } from './segments.js';

export interface LogRecord {
  readonly offset: number;
  readonly count: number;
  /** The reader's buffer: the body is bytes [bodyStart, bodyStart + bodyLength). Valid until the next call. */
  readonly bytes: Uint8Array;
  readonly bodyStart: number;
  readonly bodyLength: number;
}

const CHUNK_BYTES = 1 << 20;

export class LogReader {
  private fd = -1;
  private segment: SegmentFile;
  private position = 0;
  private nextOffset: number;
  private buffer = new Uint8Array(CHUNK_BYTES);
  private readonly key: number;
  private records: RecordReader;
  private bufferAt = 0;
  private bufferLength = 0;
  private readonly current: { offset: number; count: number; bytes: Uint8Array; bodyStart: number; bodyLength: number };

  constructor(
    readonly dir: string,
    from = 0,
    private readonly files: LogFiles = nodeFiles,
  ) {
    this.key = readLogKey(dir, files);
    this.records = new RecordReader(this.buffer, this.key);
    const segments = listSegments(dir, files);
    let chosen = segments[0];
    for (const s of segments) if (s.firstOffset <= from) chosen = s;
    if (chosen === undefined) throw new Error(`${dir}: no log segments`);
    this.segment = chosen;
    this.nextOffset = chosen.firstOffset;
    this.fd = files.open(chosen.path, 'r');
    this.current = { offset: 0, count: 0, bytes: this.buffer, bodyStart: 0, bodyLength: 0 };
    // Step over whole records before `from`; the one that holds `from` is read again first.
    while (this.nextOffset < from) {
      const r = this.next();
      if (r === null) break;
      if (r.offset + r.count > from) {
        this.position -= logRecordBytes(r.bodyLength);
        this.nextOffset = r.offset;
        break;
      }
    }
  }

  /** Offset of the next record `next` returns (or of the record it returned that holds `from`). */
  get offset(): number {
    return this.nextOffset;
  }

  next(limit?: number): LogRecord | null {
    if (limit !== undefined && this.nextOffset >= limit) return null;
    let readAfresh = false;
    for (;;) {
      let problem: string | null = null;
      if (this.fill(LOG_RECORD_HEADER_BYTES)) {
        const at = this.position - this.bufferAt;
        const r = this.records;
        const found = r.check(at, this.bufferLength, this.nextOffset);
        if (found === 'short') {
          // The header is here but not all of the body: read again from the record's start.
          if (this.fill(logRecordBytes(r.claimedBodyLength(at)))) continue;
          problem = 'short';
        } else if (found !== null) {
          problem = found;
        } else {
          return this.take(at, r.offset, r.count, r.bodyLength);
        }
      } else if (this.bufferLength > this.position - this.bufferAt) {
        problem = 'short';
      }
      // Bytes kept from an earlier read may be stale: a writer that reopened the log cut a torn
      // tail and appended over it. Before calling anything short or damaged, read it afresh once.
      if (problem !== null && !readAfresh) {
        readAfresh = true;
        this.dropBuffer();
        continue;
      }
      if (problem === null && this.moveToNextSegment()) continue;
      // A clean end, or a partial or bad record: below `limit` neither may happen.
      if (limit !== undefined && this.nextOffset < limit) {
        throw new LogCorruptError(this.segment.path, this.position, problem ?? `the log ends at offset ${this.nextOffset} but ${limit} are acknowledged`);
      }
      return null;
    }
  }

  private take(at: number, offset: number, count: number, bodyLength: number): LogRecord {
    const size = logRecordBytes(bodyLength);
    const c = this.current;
    c.offset = offset;
    c.count = count;
    c.bytes = this.buffer;
    c.bodyStart = at + LOG_RECORD_HEADER_BYTES;
    c.bodyLength = bodyLength;
    this.position += size;
    this.nextOffset += count;
    return c;
  }

  close(): void {
    if (this.fd >= 0) this.files.close(this.fd);
    this.fd = -1;
  }

  /** Makes `need` bytes from the position readable in the buffer; false when the file has fewer. */
  private fill(need: number): boolean {
    let at = this.position - this.bufferAt;
    if (at >= 0 && at + need <= this.bufferLength) return true;
    if (at < 0 || at > this.bufferLength) {
      // Not in the buffer (defensive: every path keeps the position inside it): read afresh.
      this.dropBuffer();
      at = 0;
    }
    // What was read of the record stays and only the rest is read after it. Reading again from
    // the record's start read every large record about twice: at 64 KiB, batch 16 (1 MiB
    // records, a 2 MiB buffer) each read took one record and most of the next, then read that
    // one again. The log is append-only, so bytes read below the file's end stay what it holds.
    if (need > this.buffer.length) {
      // Room for a few records of this size, so that a read seldom ends inside one (at most
      // 16 MiB more than the record: a 64 MiB body must not cost a reader 256 MiB).
      const grown = new Uint8Array(Math.min(Math.max(4 * need, 2 * this.buffer.length), need + 16 * 1024 * 1024));
      grown.set(this.buffer.subarray(at, this.bufferLength));
      this.buffer = grown;
      this.records = new RecordReader(this.buffer, this.key);
      this.keepFrom(at);
    } else if (at + need > this.buffer.length) {
      // No room after it: move what was read of it to the front (a copy in memory, not a read).
      this.buffer.copyWithin(0, at, this.bufferLength);
      this.keepFrom(at);
    }
    // The buffer starts at a record's position, 8-aligned, so bodies stay 8-aligned in it.
    const end = this.bufferLength;
    this.bufferLength += this.files.read(this.fd, this.buffer, end, this.buffer.length - end, this.bufferAt + end);
    return this.bufferLength - (this.position - this.bufferAt) >= need;
  }

  /** Forgets what the buffer holds: the next fill reads from the position. */
  private dropBuffer(): void {
    this.bufferAt = this.position;
    this.bufferLength = 0;
  }

  /** The buffer now begins with the bytes that were at `at` (the record at the position). */
  private keepFrom(at: number): void {
    this.bufferLength -= at;
    this.bufferAt = this.position;
  }

  private moveToNextSegment(): boolean {
    const nextPath = segmentPath(this.dir, this.nextOffset);
    if (nextPath === this.segment.path) return false;
    let fd: number;
    try {
      fd = this.files.open(nextPath, 'r');
    } catch (error) {
      // No next segment: the log ends here. But a process out of file descriptors has not found
      // the end of its log, and must not report one (the caller would call the log damaged).
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EMFILE' || code === 'ENFILE') throw error;
      return false;
    }
    this.files.close(this.fd);
    this.fd = fd;
    this.segment = { firstOffset: this.nextOffset, path: nextPath };
    this.position = 0;
    this.bufferAt = 0;
    this.bufferLength = 0;
    return true;
  }
}

/** A problem `verifyLog` found. */
export interface LogDamage {
  readonly file: string;
  readonly position: number;
  readonly reason: string;
}

/** Checks every record of every segment (length, CRC, offsets continuing across files). */
export function verifyLog(dir: string, files: LogFiles = nodeFiles): { records: number; endOffset: number; damage: LogDamage[] } {
  const damage: LogDamage[] = [];
  const key = readLogKey(dir, files);
  let records = 0;
  let expected: number | undefined;
  let endOffset = 0;
  for (const s of listSegments(dir, files)) {
    if (expected !== undefined && s.firstOffset !== expected)
      damage.push({ file: s.path, position: 0, reason: `begins at offset ${s.firstOffset}, the previous segment ended at ${expected}` });
    const scan = scanSegment(files.readFile(s.path), s.firstOffset, key);
    if (scan.problem) damage.push({ file: s.path, position: scan.problem.position, reason: scan.problem.kind });
    records += scan.records;
    endOffset = scan.endOffset;
    // After damage the segment's end is unknown: the next segment's name is taken as given.
    expected = scan.problem ? undefined : scan.endOffset;
  }
  return { records, endOffset, damage };
}
