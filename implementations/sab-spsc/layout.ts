/**
 * Shared-memory layout of the single-producer single-consumer ring (the META line and the
 * 128-byte line spacing are ../shared/ring/ring-memory.ts's). The native backend
 * (implementations/native/src/spsc_ring.hpp) uses exactly this layout, so a JavaScript producer
 * and a native consumer can share one queue: change both together.
 *
 *   byte 0     +--------------------------------------------------+
 *              | META: capacity (i32), layout version (i32),      |  read-only after create
 *              |       peer mode (i32, see PeerMode)              |  set once by the first side
 *   byte 128   +--------------------------------------------------+
 *              | TAIL: producer position (i32, wraps at 2^32)     |  written by the producer only
 *   byte 256   +--------------------------------------------------+
 *              | HEAD: consumer position (i32, wraps at 2^32)     |  written by the consumer only
 *   byte 384   +--------------------------------------------------+
 *              | NOT_EMPTY event count (epoch, waiters)           |  consumer sleeps here
 *   byte 512   +--------------------------------------------------+
 *              | NOT_FULL event count (epoch, waiters)            |  producer sleeps here
 *   byte 640   +--------------------------------------------------+
 *              | DATA: `capacity` bytes of records (records.ts)   |
 *              +--------------------------------------------------+
 *
 * Head and tail sit 128 bytes apart (two cache lines) so the adjacent-line prefetcher does not
 * make producer and consumer fight over one pair of lines. Positions are byte counters that wrap
 * at 2^32; the capacity is a power of two, so `position & (capacity - 1)` is the index and
 * `(tail - head) | 0` the bytes in use.
 */
import { dataOffsetAfter, lineWord, META_PEER_MODE, type RingShape } from '../shared/ring/ring-memory.js';
import type { RingWords } from '../shared/ring/ring-side.js';

export const LAYOUT_VERSION = 1;
export const TAIL = lineWord(1);
export const HEAD = lineWord(2);
export const NOT_EMPTY = lineWord(3);
export const NOT_FULL = lineWord(4);
export const DATA_OFFSET = dataOffsetAfter(4);

export const SPSC_SHAPE: RingShape = { controlLines: 4, version: LAYOUT_VERSION, positions: [TAIL, HEAD] };
/** The words each side waits on (shared/ring/ring-side.ts); the native ring uses them too. */
export const SPSC_WORDS: RingWords = { tail: TAIL, head: HEAD, notEmpty: NOT_EMPTY, notFull: NOT_FULL };

/**
 * Who drives the ring's two ends, fixed by the first side that attaches. A native-only end
 * (C++ threads that only spin) publishes with release stores and never looks for sleepers; a
 * JavaScript end may sleep in Atomics.wait and must be woken. The two must never meet on one
 * ring: a release store can pass the sleeper's later waiter-count load (store→load reordering),
 * and nobody wakes a sleeper the native-only end never looks for. Every side claims the mode
 * when it attaches and refuses a ring already claimed for the other (spsc_ring.hpp does the same).
 */
export const PeerMode = { UNSET: 0, JAVASCRIPT: 1, NATIVE_ONLY: 2 } as const;

/** Claims the ring for a JavaScript-facing side; throws when native-only threads own it. */
export function claimJavaScriptPeer(words: Int32Array): void {
  const mode = Atomics.compareExchange(words, META_PEER_MODE, PeerMode.UNSET, PeerMode.JAVASCRIPT);
  if (mode === PeerMode.NATIVE_ONLY) {
    throw new Error('this ring is driven by native-only threads (release stores, no wake-ups): a JavaScript side cannot attach to it');
  }
}
