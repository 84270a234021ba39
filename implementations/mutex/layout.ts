/**
 * Shared-memory layout of the lock baseline (queue.ts; the META line and the 128-byte line
 * spacing are ../shared/ring/ring-memory.ts's). HEAD and TAIL share a line: both change only
 * under LOCK, so they never ping-pong between two writers.
 *
 *   byte 0     +--------------------------------------------------+
 *              | META: capacity (i32), layout version (i32)       |  read-only after create
 *   byte 128   +--------------------------------------------------+
 *              | LOCK (SharedMutex word)                          |
 *   byte 256   +--------------------------------------------------+
 *              | HEAD (i32), TAIL (i32): changed only under LOCK  |  read without it to peek
 *   byte 384   +--------------------------------------------------+
 *              | NOT_EMPTY condition (seq, waiters)               |  readers sleep here
 *   byte 512   +--------------------------------------------------+
 *              | NOT_FULL condition (seq, waiters)                |  writers sleep here
 *   byte 640   +--------------------------------------------------+
 *              | DATA: `capacity` bytes of records                |  framed as ../shared/ring/records.ts
 *              +--------------------------------------------------+
 */
import { dataOffsetAfter, lineWord, type RingShape } from '../shared/ring/ring-memory.js';

export const LAYOUT_VERSION = 1;
export const LOCK = lineWord(1);
export const HEAD = lineWord(2);
export const TAIL = HEAD + 1;
export const NOT_EMPTY = lineWord(3);
export const NOT_FULL = lineWord(4);
export const DATA_OFFSET = dataOffsetAfter(4);
export const MUTEX_SHAPE: RingShape = { controlLines: 4, version: LAYOUT_VERSION, positions: [HEAD, TAIL] };
