/**
 * Shared-memory layout of the many-producer single-consumer ring (ring.ts; the META line and the
 * 128-byte line spacing are ../shared/ring/ring-memory.ts's).
 *
 *   byte 0     +--------------------------------------------------+
 *              | META: capacity (i32), layout version (i32)       |  read-only after create
 *   byte 128   +--------------------------------------------------+
 *              | TAIL: next free position (i32, CAS by producers) |
 *   byte 256   +--------------------------------------------------+
 *              | HEAD_CACHE: a recent HEAD, shared by producers   |  saves each producer a read
 *   byte 384   +--------------------------------------------------+  of the consumer's line
 *              | HEAD: consumer position (i32)                    |  written by the consumer only
 *   byte 512   +--------------------------------------------------+
 *              | NOT_EMPTY event count (epoch, waiters)           |  consumer sleeps here
 *   byte 640   +--------------------------------------------------+
 *              | NOT_FULL event count (epoch, waiters)            |  producers sleep here
 *   byte 768   +--------------------------------------------------+
 *              | DATA: `capacity` bytes of records                |
 *              +--------------------------------------------------+
 *
 *
 * Records are framed as ring.ts says (the length word holds the whole record's length).
 */
import { dataOffsetAfter, lineWord, type RingShape } from '../shared/ring/ring-memory.js';
import type { RingWords } from '../shared/ring/ring-side.js';

export { META_CAPACITY } from '../shared/ring/ring-memory.js';
export const LAYOUT_VERSION = 1;
export const TAIL = lineWord(1);
export const HEAD_CACHE = lineWord(2);
export const HEAD = lineWord(3);
export const NOT_EMPTY = lineWord(4);
export const NOT_FULL = lineWord(5);
export const DATA_OFFSET = dataOffsetAfter(5);
export const MPSC_SHAPE: RingShape = { controlLines: 5, version: LAYOUT_VERSION, positions: [TAIL, HEAD_CACHE, HEAD] };
/** The words each side waits on (../shared/ring/ring-side.ts). */
export const MPSC_WORDS: RingWords = { tail: TAIL, head: HEAD, notEmpty: NOT_EMPTY, notFull: NOT_FULL };
