/**
 * RecordRun lays a claim out in at most two runs. Checked here against the plainest possible
 * reference, record by record (the loop the rings used before): for every position, free space,
 * batch size and record length, both must write the same headers and padding, hand out the same
 * offsets, and end at the same position. The model, conformance and stress suites then check the
 * rings that use it (sab-spsc, mutex) end to end.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordRun } from '../implementations/shared/ring/record-run.js';
import { RecordType, RING_RECORD_HEADER_BYTES, ringRecordBytes } from '../implementations/shared/ring/records.js';

const DATA = 64;

/** One record at a time: does it fit before the end, is there room, write padding and header. */
function referenceLayOut(words: Int32Array, capacity: number, position: number, free: number, max: number, length: number) {
  const size = ringRecordBytes(length);
  const offsets: number[] = [];
  let t = position;
  let left = free;
  while (offsets.length < max) {
    const index = t & (capacity - 1);
    const toEnd = capacity - index;
    const need = toEnd < size ? size + toEnd : size;
    if (need > left) break;
    let at = DATA + index;
    if (toEnd < size) {
      words[at >> 2] = toEnd;
      words[(at >> 2) + 1] = RecordType.PADDING;
      t = (t + toEnd) | 0;
      at = DATA;
    }
    words[at >> 2] = length;
    words[(at >> 2) + 1] = RecordType.MESSAGE;
    offsets.push(at + RING_RECORD_HEADER_BYTES);
    t = (t + size) | 0;
    left -= need;
  }
  return { offsets, end: t };
}

describe('RecordRun', () => {
  it('lays out a claim exactly as placing its records one by one would', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1024, 4096),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (capacity, start, length, max, fullness) => {
          fc.pre(ringRecordBytes(length) * 2 <= capacity);
          const position = start & ~7;
          const free = Math.floor(capacity * fullness) & ~7;
          const expected = new Int32Array((DATA + capacity) / 4).fill(-1);
          const got = new Int32Array((DATA + capacity) / 4).fill(-1);
          const reference = referenceLayOut(expected, capacity, position, free, max, length);
          const run = new RecordRun();
          const end = run.layOut(got, DATA, capacity, position, free, max, ringRecordBytes(length), length);
          expect(run.count).toBe(reference.offsets.length);
          expect(end).toBe(reference.end);
          expect(Array.from({ length: run.count }, (_, i) => run.offsetOf(i))).toEqual(reference.offsets);
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('pads to the end and goes on from the start when the first run stops at the end', () => {
    const words = new Int32Array((DATA + 1024) / 4);
    const run = new RecordRun();
    // 16 bytes before the end, records of 24: a padding record of 16, then 3 records from 0.
    const end = run.layOut(words, DATA, 1024, 1008, 1024, 3, 24, 16);
    expect(run.count).toBe(3);
    expect([words[(DATA + 1008) >> 2], words[((DATA + 1008) >> 2) + 1]]).toEqual([16, RecordType.PADDING]);
    expect([run.offsetOf(0), run.offsetOf(1), run.offsetOf(2)]).toEqual([DATA + 8, DATA + 32, DATA + 56]);
    expect(end).toBe(1024 + 72);
  });
});
