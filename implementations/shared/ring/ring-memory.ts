/**
 * The memory every ring backend is laid out in (sab-spsc, mpsc-cas, mutex; native shares
 * sab-spsc's, mirrored in ../native/src/spsc_ring.hpp), after agrona's RingBufferDescriptor:
 * one line of META, one line per control word the ring declares, then the records.
 *
 *   byte 0            +--------------------------------------------------+
 *                     | META: capacity (i32), layout version (i32),      |  read-only after create
 *                     |       peer mode (i32; sab-spsc and native only)  |
 *   byte 128          +--------------------------------------------------+
 *                     | line 1: the ring's first control word            |  e.g. TAIL
 *   byte 256          +--------------------------------------------------+
 *                     | ...  one line per control word (positions,       |
 *                     |      caches, event counts, the mutex)            |
 *   byte 128·(L + 1)  +--------------------------------------------------+
 *                     | DATA: `capacity` bytes of records (records.ts)   |
 *                     +--------------------------------------------------+
 *
 * Control words sit 128 bytes apart (two cache lines), so the adjacent-line prefetcher does not
 * make two threads fight over one pair of lines. Each ring's own file draws its lines.
 */
import { ClaimOpenError, MessageTooLargeError, type QueueOptions } from '../../contract.js';
import { RING_RECORD_HEADER_BYTES, ringCapacity, ringRecordBytes } from './records.js';

export const LINE_BYTES = 128;
/** Int32 indexes of the META words. */
export const META_CAPACITY = 0;
export const META_VERSION = 1;
export const META_PEER_MODE = 2;

/** Int32 index of the first word of control line `line` (1 = the first after META). */
export function lineWord(line: number): number {
  return (line * LINE_BYTES) / 4;
}

/** Byte offset of DATA in a ring with `controlLines` lines after META. */
export function dataOffsetAfter(controlLines: number): number {
  return (controlLines + 1) * LINE_BYTES;
}

/** A ring's shape: how many control lines, which layout version, which words hold positions. */
export interface RingShape {
  readonly controlLines: number;
  readonly version: number;
  /** Int32 indexes of the position words (set to the start position when created). */
  readonly positions: readonly number[];
}

/**
 * Allocates a ring for `options`: capacity a power of two holding at least two of the largest
 * records (records.ts), META written, every position word at `options.startPosition` (0 unless
 * a test starts near a wrap).
 */
export function createRingMemory(options: QueueOptions, shape: RingShape): SharedArrayBuffer {
  const capacity = ringCapacity(options.capacityBytes, options.maxMessageBytes);
  const memory = new SharedArrayBuffer(dataOffsetAfter(shape.controlLines) + capacity);
  const words = new Int32Array(memory);
  words[META_CAPACITY] = capacity;
  words[META_VERSION] = shape.version;
  for (const word of shape.positions) words[word] = options.startPosition ?? 0;
  return memory;
}

/** The capacity a ring was created with. */
export function ringCapacityOf(memory: SharedArrayBuffer): number {
  return new Int32Array(memory, 0, 1)[META_CAPACITY];
}

/**
 * What every claim checks before touching the ring (contract.ts): no claim still open, and a
 * record that can ever fit (at most half the ring, so it fits even after a padding record at
 * the wrap). Returns the record's size in the ring.
 */
export function checkClaim(claimOpen: boolean, length: number, capacity: number): number {
  if (claimOpen) throw new ClaimOpenError();
  const size = ringRecordBytes(length);
  if (size * 2 > capacity) throw new MessageTooLargeError(length, capacity / 2 - RING_RECORD_HEADER_BYTES);
  return size;
}
