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
 * file is caught wherever it lands; padding is not covered (it is never read as data).
 * `appended-at` is wall-clock milliseconds, for retention by age and for people reading a dump.
 */
import { crc32 } from 'node:zlib';

export const RECORD_HEADER_BYTES = 64;
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
export function recordBytes(bodyLength: number): number {
  return RECORD_HEADER_BYTES + padTo8(bodyLength);
}

/** Fills `header` (64 bytes) for a record; the CRC is computed over it and `body`. */
export function writeHeader(header: Uint8Array, offset: number, count: number, body: Uint8Array, appendedAtMs: number): void {
  const v = new DataView(header.buffer, header.byteOffset, RECORD_HEADER_BYTES);
  v.setUint32(H_MAGIC, RECORD_MAGIC, true);
  v.setUint32(H_OFFSET, offset % TWO_32, true);
  v.setUint32(H_OFFSET + 4, Math.floor(offset / TWO_32), true);
  v.setUint32(H_COUNT, count, true);
  v.setUint32(H_BODY, body.length, true);
  v.setUint32(H_APPENDED, appendedAtMs % TWO_32, true);
  v.setUint32(H_APPENDED + 4, Math.floor(appendedAtMs / TWO_32), true);
  header.fill(0, 32, RECORD_HEADER_BYTES);
  v.setUint32(H_CRC, crc32(body, crc32(header.subarray(H_OFFSET, RECORD_HEADER_BYTES))), true);
}

export interface RecordHeader {
  readonly offset: number;
  readonly count: number;
  readonly bodyLength: number;
  readonly appendedAtMs: number;
  readonly crc: number;
}

/** Why the bytes at a position are not a record (null: they are one). */
export type RecordProblem = 'short' | 'magic' | 'length' | 'crc' | 'offset';

/** Reads a header's fields; `null` when there is no magic or the lengths are impossible. */
export function readHeader(bytes: Uint8Array, at: number): RecordHeader | null {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, RECORD_HEADER_BYTES);
  if (v.getUint32(H_MAGIC, true) !== RECORD_MAGIC) return null;
  const count = v.getUint32(H_COUNT, true);
  const bodyLength = v.getUint32(H_BODY, true);
  if (count === 0 || bodyLength > MAX_BODY_BYTES) return null;
  return {
    offset: v.getUint32(H_OFFSET, true) + v.getUint32(H_OFFSET + 4, true) * TWO_32,
    count,
    bodyLength,
    appendedAtMs: v.getUint32(H_APPENDED, true) + v.getUint32(H_APPENDED + 4, true) * TWO_32,
    crc: v.getUint32(H_CRC, true),
  };
}

/**
 * Checks the record at `at` in `bytes` (which holds `available` valid bytes from 0): whole,
 * well-formed, CRC intact, and at offset `expectedOffset` (-1: any). Returns its header or the problem.
 */
export function checkRecord(bytes: Uint8Array, at: number, available: number, expectedOffset: number): RecordHeader | RecordProblem {
  if (available - at < RECORD_HEADER_BYTES) return 'short';
  const header = readHeader(bytes, at);
  if (header === null) return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true) === RECORD_MAGIC ? 'length' : 'magic';
  if (available - at < recordBytes(header.bodyLength)) return 'short';
  const bodyStart = at + RECORD_HEADER_BYTES;
  const crc = crc32(bytes.subarray(bodyStart, bodyStart + header.bodyLength), crc32(bytes.subarray(at + H_OFFSET, bodyStart)));
  if (crc !== header.crc) return 'crc';
  if (expectedOffset >= 0 && header.offset !== expectedOffset) return 'offset';
  return header;
}
