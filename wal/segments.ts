/**
 * A log directory: segment files named by the offset of their first message, a lock file while
 * a writer has it open, and nothing else the log writes.
 *
 *   DIR/
 *     00000000000000000000.log   sealed: never written again (fdatasynced when the next began, unless durability none)
 *     00000000000000812032.log   ...
 *     00000000000001624064.log   active: the only file appended to; recovery scans it
 *     LOCK                       the writer's pid (lock.ts)
 *
 * Twenty digits hold any offset below 2^64, so names sort as their offsets do.
 */
import { join } from 'node:path';
import { type LogFiles, nodeFiles } from './files.js';

const SEGMENT_NAME = /^(\d{20})\.log$/;

export interface SegmentFile {
  /** Offset of the first message in the segment. */
  readonly firstOffset: number;
  readonly path: string;
}

export function segmentPath(dir: string, firstOffset: number): string {
  return join(dir, `${String(firstOffset).padStart(20, '0')}.log`);
}

/** The directory's segments, oldest first (other files are ignored). */
export function listSegments(dir: string, files: LogFiles = nodeFiles): SegmentFile[] {
  const segments: SegmentFile[] = [];
  for (const name of files.list(dir)) {
    const m = SEGMENT_NAME.exec(name);
    if (m !== null) segments.push({ firstOffset: Number(m[1]), path: join(dir, name) });
  }
  return segments.sort((a, b) => a.firstOffset - b.firstOffset);
}
