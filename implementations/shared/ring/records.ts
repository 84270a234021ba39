/**
 * Record framing shared by the ring backends (sab-spsc, mpsc-cas, mutex, native):
 * every record starts with two Int32 words and is padded to 8 bytes, as in agrona's
 * RecordDescriptor, so the envelope inside always starts 8-aligned.
 *
 *   +-----------+-----------+----------------------------+---------+
 *   | length    | type      | message bytes (length)     | to 8    |
 *   | i32       | i32       |                            | aligned |
 *   +-----------+-----------+----------------------------+---------+
 *
 * A PADDING record fills the space from the last record to the end of the buffer when the next
 * record would not fit there; its length is the number of bytes to skip (header included).
 *
 * What this file serves: sab-spsc, mutex and native (mirrored in spsc_ring.hpp) use all of it —
 * sizes, padding and readRecords; their claims lay records out with record-run.ts. mpsc-cas
 * shares the sizes, types, padding and zeroRange but frames its length word differently (the
 * whole record's length, 0 until committed, so its consumer can tell a claimed record from a
 * committed one, as agrona's ManyToOneRingBuffer does), and so keeps its own claim and drain
 * loops.
 */
export const RING_RECORD_HEADER_BYTES = 8;
export const RECORD_ALIGNMENT = 8;
export const RecordType = { MESSAGE: 1, PADDING: 2 } as const;

/** Bytes a record of `length` message bytes takes in the buffer. */
export function ringRecordBytes(length: number): number {
  return (length + RING_RECORD_HEADER_BYTES + RECORD_ALIGNMENT - 1) & ~(RECORD_ALIGNMENT - 1);
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The least storage any queue of the project gets: two of the largest records, so one always
 * fits even after a padding record at the wrap (and a queue that holds one message at a time
 * cannot be mistaken for a queue).
 */
export function minimumCapacity(capacityBytes: number, maxMessageBytes: number): number {
  return Math.max(capacityBytes, 2 * ringRecordBytes(maxMessageBytes));
}

/** Ring capacity for the options: a power of two (so positions wrap with a mask) of at least minimumCapacity. */
export function ringCapacity(capacityBytes: number, maxMessageBytes: number): number {
  const capacity = nextPowerOfTwo(Math.max(minimumCapacity(capacityBytes, maxMessageBytes), 1024));
  if (capacity > 2 ** 30) throw new RangeError(`ring capacity ${capacity} exceeds 1 GiB`);
  return capacity;
}

/** Bytes a record of `size` needs at ring position `position`: itself, plus padding when it would straddle the end. */
export function spaceNeeded(position: number, size: number, capacity: number): number {
  const toEnd = capacity - (position & (capacity - 1));
  return toEnd < size ? size + toEnd : size;
}

/**
 * How far a drain has got, kept up to date as it reads: when a visit throws, the caller's
 * `finally` releases exactly up to `position`, the start of the record whose visit threw
 * (contract.ts: visited messages are consumed, the throwing one stays). One per consumer.
 */
export interface DrainCursor {
  position: number;
  count: number;
}

/**
 * Visits records from `cursor.position` until `end` or until `cursor.count` reaches `max`,
 * stepping over padding (sab-spsc, mutex and the C++ ring's scan read records this way; mpsc-cas
 * frames its length word differently and keeps its own loop). The cursor is written once, when
 * the walk stops: the `finally` also runs when a visit throws, and then holds the record that
 * threw (contract.ts: visited messages are consumed, the throwing one stays).
 */
export function readRecords(
  words: Int32Array,
  bytes: Uint8Array,
  dataOffset: number,
  mask: number,
  cursor: DrainCursor,
  end: number,
  max: number,
  visit: (buffer: Uint8Array, offset: number, length: number) => void,
): void {
  let h = cursor.position;
  let n = cursor.count;
  try {
    while (n < max && h !== end) {
      const at = dataOffset + (h & mask);
      const length = words[at >> 2];
      if (words[(at >> 2) + 1] !== RecordType.PADDING) {
        visit(bytes, at + RING_RECORD_HEADER_BYTES, length);
        n++;
        h = (h + ringRecordBytes(length)) | 0;
      } else {
        h = (h + length) | 0;
      }
    }
  } finally {
    cursor.position = h;
    cursor.count = n;
  }
}

/**
 * Zeroes `used` bytes of records from ring position `from` (in two parts when they wrap), through
 * a Float64Array view of the ring's memory: one 8-byte store per 8 bytes (records are 8-aligned,
 * and +0.0 is all zero bits). Not `Uint8Array.fill`: on a SharedArrayBuffer V8 fills with relaxed
 * atomic stores, measured at 3 GB/s against 84 GB/s on an ArrayBuffer, which made the zeroing
 * cost a harness consumer a third of its throughput (38 → 24M msg/s); this loop costs it nothing
 * measurable.
 */
export function zeroRange(doubles: Float64Array, dataOffset: number, mask: number, from: number, used: number): void {
  const index = from & mask;
  const first = Math.min(used, mask + 1 - index);
  // One loop for both parts: a second loop for the wrapped part would run for the first time
  // only when a large drain first crosses the end, and V8 would deoptimise the drain there,
  // mid-window (test/jit-window.test.ts caught it).
  zeroWords(doubles, (dataOffset + index) >> 3, first >> 3);
  zeroWords(doubles, dataOffset >> 3, (used - first) >> 3);
}

function zeroWords(doubles: Float64Array, at: number, count: number): void {
  for (let i = 0; i < count; i++) doubles[at + i] = 0;
}
