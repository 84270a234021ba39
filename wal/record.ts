/**
 * One record of the write-ahead log: a 64-byte header, then the body, padded with zeros to 8 bytes
 * so every header starts 8-aligned. A record holds one appended batch of `count` messages (one
 * header and one CRC per batch, as Kafka's record batches: at batch 256 the header costs a
 * quarter of a byte per message, not 64). The body is opaque to the log: the broker stores its
 * DELIVER body there, the `wal` backend its own record framing.
 *
 *   byte 0        4        8                 16         20          24                32          64
 *        +--------+--------+-----------------+----------+-----------+-----------------+-----------+--------- …
 *        | magic  | crc32  | offset          | count    | body      | appended-at     | reserved  | body, pad→8
 *        | u32    | u32    | u64 (lo, hi)    | u32      | len u32   | u64 ms (lo, hi) | (zero)    |
 *        +--------+--------+-----------------+----------+-----------+-----------------+-----------+--------- …
 *
 * All fields little-endian. `offset` is the first message's offset in the log (messages are
 * numbered from 0); the next record's offset is `offset + count`. `crc32` (IEEE, zlib's) covers
 * header bytes 8..64 and the body, so a torn write, a flipped bit or a record from a stale
 * file is caught wherever it lands; padding is not covered (it is never read as data). The CRC
 * starts from the log's key (log-key.ts) instead of 0, so record-shaped bytes inside a body,
 * which a client can send, never pass for a record.
 * `appended-at` is wall-clock milliseconds, for retention by age and for people reading a dump.
 */
import { crc32 } from './crc.js';

export const LOG_RECORD_HEADER_BYTES = 64;
/** 'NMQL' in file order (bytes 4E 4D 51 4C). */
export const RECORD_MAGIC = 0x4c514d4e;
/** The largest body the log accepts: a full broker batch of the largest messages, with room. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

const H_MAGIC = 0;
const H_CRC = 4;
const H_OFFSET = 8;
const H_COUNT = 16;
const H_BODY = 20;
const H_APPENDED = 24;
const TWO_32 = 4294967296;

export function padTo8(n: number): number {
  return (n + 7) & ~7;
}

/** Bytes a record with a body of `bodyLength` takes in its segment file. */
export function logRecordBytes(bodyLength: number): number {
  return LOG_RECORD_HEADER_BYTES + padTo8(bodyLength);
}

/** Writes record headers into one 64-byte buffer, with no allocation per record. */
export class RecordHeaderWriter {
  readonly header = new Uint8Array(LOG_RECORD_HEADER_BYTES);
  private readonly view = new DataView(this.header.buffer);
  /** The header bytes the CRC covers (8..64), made once. */
  private readonly covered = this.header.subarray(H_OFFSET);

  /** `key`: the log's key, the CRC's starting value. */
  constructor(private readonly key: number) {}

  /** Fills the header for a record of `count` messages; the CRC covers it and `body`. */
  write(offset: number, count: number, body: Uint8Array, appendedAtMs: number): void {
    const v = this.view;
    v.setUint32(H_MAGIC, RECORD_MAGIC, true);
    v.setUint32(H_OFFSET, offset % TWO_32, true);
    v.setUint32(H_OFFSET + 4, Math.floor(offset / TWO_32), true);
    v.setUint32(H_COUNT, count, true);
    v.setUint32(H_BODY, body.length, true);
    v.setUint32(H_APPENDED, appendedAtMs % TWO_32, true);
    v.setUint32(H_APPENDED + 4, Math.floor(appendedAtMs / TWO_32), true);
    this.header.fill(0, 32, LOG_RECORD_HEADER_BYTES);
    v.setUint32(H_CRC, crc32(body, crc32(this.covered, this.key)), true);
  }
}

/** Why the bytes at a position are not a record. */
export type RecordProblem = 'short' | 'magic' | 'length' | 'crc' | 'offset';

/**
 * Checks records in one buffer, with no allocation per record but the CRC's view: `check` leaves
 * the fields of the record it accepted in `offset`, `count` and `bodyLength`.
 */
export class RecordReader {
  private readonly view: DataView;
  offset = 0;
  count = 0;
  bodyLength = 0;

  /** `key`: the log's key (log-key.ts), the CRC's starting value. */
  constructor(
    readonly bytes: Uint8Array,
    private readonly key: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Body length the header at `at` claims (for reading the rest of a record), or -1 without one. */
  claimedBodyLength(at: number): number {
    return this.view.getUint32(at + H_MAGIC, true) === RECORD_MAGIC ? this.view.getUint32(at + H_BODY, true) : -1;
  }

  /**
   * Checks the record at `at` (the buffer holds `available` valid bytes from 0): whole,
   * well-formed, CRC intact, at offset `expectedOffset` (-1: any). Null when it is a record.
   */
  check(at: number, available: number, expectedOffset: number): RecordProblem | null {
    if (available - at < LOG_RECORD_HEADER_BYTES) return 'short';
    const v = this.view;
    if (v.getUint32(at + H_MAGIC, true) !== RECORD_MAGIC) return 'magic';
    const count = v.getUint32(at + H_COUNT, true);
    const bodyLength = v.getUint32(at + H_BODY, true);
    if (count === 0 || bodyLength > MAX_BODY_BYTES) return 'length';
    if (available - at < logRecordBytes(bodyLength)) return 'short';
    // Header bytes 8..64 and the body lie end to end: one CRC over both.
    const covered = this.bytes.subarray(at + H_OFFSET, at + LOG_RECORD_HEADER_BYTES + bodyLength);
    if (crc32(covered, this.key) !== v.getUint32(at + H_CRC, true)) return 'crc';
    const offset = v.getUint32(at + H_OFFSET, true) + v.getUint32(at + H_OFFSET + 4, true) * TWO_32;
    if (expectedOffset >= 0 && offset !== expectedOffset) return 'offset';
    this.offset = offset;
    this.count = count;
    this.bodyLength = bodyLength;
    return null;
  }
}
