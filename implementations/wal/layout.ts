/**
 * The words the `wal` backend's producer and consumer share (backend.ts); the messages
 * themselves travel through the log's segment files. Int32 words, a 128-byte line per side
 * (../shared/ring/ring-memory.ts's spacing), so the producer's and the consumer's stores never
 * share a line.
 *
 *   byte 0     +------------------------------------------------------------+
 *              | PUBLISHED: the log's durable offset (messages, mod 2^32)   |  written by the producer
 *              | DATA_EVENTS: event count (epoch, waiters)                  |  consumer sleeps here
 *   byte 128   +------------------------------------------------------------+
 *              | CONSUMED: bytes of log the consumer has read (mod 2^32)    |  written by the consumer
 *              | SPACE_EVENTS: event count (epoch, waiters)                 |  producer sleeps here
 *   byte 256   +------------------------------------------------------------+
 */
import { LINE_BYTES, lineWord } from '../shared/ring/ring-memory.js';

export const PUBLISHED = lineWord(0);
export const DATA_EVENTS = PUBLISHED + 1;
export const CONSUMED = lineWord(1);
export const SPACE_EVENTS = CONSUMED + 1;
export const CONTROL_BYTES = 2 * LINE_BYTES;
