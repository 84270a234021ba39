/**
 * Control words of the `null` backend (backend.ts): counts only, no message bytes. Each count
 * has a 128-byte line of its own (../shared/ring/ring-memory.ts's spacing), so the producer's
 * and the consumer's stores never share a line.
 *
 *   control SharedArrayBuffer (Int32 words)
 *   byte 0    | PUBLISHED: messages committed (i32, wraps) |
 *   byte 128  | CONSUMED: messages drained (i32, wraps)    |
 *   byte 256  | LENGTH: message length of the last claim   |
 */
import { LINE_BYTES, lineWord } from '../shared/ring/ring-memory.js';

export const PUBLISHED = lineWord(0);
export const CONSUMED = lineWord(1);
export const LENGTH = lineWord(2);
export const CONTROL_BYTES = 3 * LINE_BYTES;
