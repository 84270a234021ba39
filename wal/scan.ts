/**
 * Walks a segment's records and says where its valid prefix ends and why. Recovery uses it on
 * the active segment (to find a torn tail); readers and `verifyLog` use it on sealed ones.
 *
 * A bad record followed by nothing valid is a torn or corrupt *tail*: what a crash mid-append
 * leaves, safe to cut. A bad record followed by a valid one (found by looking for a whole,
 * CRC-correct record at any later 8-aligned position) is damage in the *middle*: cutting there
 * would silently drop the valid records after it, so it is reported, never truncated.
 */
import { LOG_RECORD_HEADER_BYTES, logRecordBytes, type RecordProblem, RecordReader } from './record.js';

export interface SegmentScan {
  /** Valid records before the end or the problem. */
  readonly records: number;
  /** Bytes of the valid prefix (where the next record goes). */
  readonly validBytes: number;
  /** Offset after the last valid record. */
  readonly endOffset: number;
  /** Why the walk stopped before the end of the bytes (absent: it reached the end cleanly). */
  readonly problem?: { readonly position: number; readonly kind: RecordProblem; readonly validRecordAfter: number | null };
}

/** `key`: the log's key (log-key.ts). */
export function scanSegment(bytes: Uint8Array, firstOffset: number, key: number): SegmentScan {
  let records = 0;
  const r = new RecordReader(bytes, key);
  let at = 0;
  let offset = firstOffset;
  while (at < bytes.length) {
    const problem = r.check(at, bytes.length, offset);
    if (problem !== null) {
      return { records, validBytes: at, endOffset: offset, problem: { position: at, kind: problem, validRecordAfter: findValidRecord(r, at + 8) } };
    }
    records++;
    at += logRecordBytes(r.bodyLength);
    offset += r.count;
  }
  return { records, validBytes: at, endOffset: offset };
}

/** Position of the first whole, CRC-correct record at or after `from` (8-aligned), or null. */
function findValidRecord(r: RecordReader, from: number): number | null {
  for (let at = (from + 7) & ~7; at + LOG_RECORD_HEADER_BYTES <= r.bytes.length; at += 8) {
    if (r.check(at, r.bytes.length, -1) === null) return at;
  }
  return null;
}
