/**
 * Control words of the postMessage baseline (backend.ts): the credit that bounds what is in
 * flight, the count of posted batches, and the two event counts the sides sleep on, each event
 * count on a 128-byte line of its own (../shared/ring/ring-memory.ts's spacing).
 *
 *   control SharedArrayBuffer (Int32 words)
 *   byte 0    | IN_FLIGHT bytes reserved, not yet consumed  |  CAS by producers, sub by consumer
 *   byte 4    | POSTED batches, counted after postMessage   |  wraps at 2^32
 *   byte 128  | NOT_EMPTY event count (epoch, waiters)      |  consumer sleeps here
 *   byte 256  | NOT_FULL event count (epoch, waiters)       |  producers sleep here
 */
import { LINE_BYTES, lineWord } from '../shared/ring/ring-memory.js';

export const IN_FLIGHT = lineWord(0);
export const POSTED = IN_FLIGHT + 1;
export const NOT_EMPTY = lineWord(1);
export const NOT_FULL = lineWord(2);
export const CONTROL_BYTES = 3 * LINE_BYTES;
