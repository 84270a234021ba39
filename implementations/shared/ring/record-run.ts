/**
 * A claim of equal-length records, laid out in one pass (sab-spsc and mutex; the C++ ring's
 * claim does the same in spsc_ring.hpp). The records of one claim all have the same length, so
 * they form at most two runs of equal strides: from the claim position to the end of the buffer,
 * then, after one padding record, from the start.
 *
 *   DATA  +------------------------------------------------------------------------------+
 *         | second run: records k..n-1 |  ...free...  | first run: records 0..k-1 | PAD |
 *         +------------------------------------------------------------------------------+
 *         ^ dataOffset                                 ^ position & (capacity - 1)
 *
 * What this replaces, and why it is faster (measured with `nanomq micro` and the bare loop, see
 * docs/rings.md): a loop that asked, per record, whether it fits before the end and whether
 * there is room, wrote its header through a function call, and stored its offset in an array
 * the producer then read back. Here, room is checked once per run, the headers are written in a
 * tight strided loop, and a record's offset is arithmetic (`offsetOf`), not a stored value.
 */
import { RecordType, RING_RECORD_HEADER_BYTES } from './records.js';

export class RecordRun {
  /** Records laid out by the last `layOut`. */
  count = 0;
  /** Where the first run's first message starts (bytes into the ring's memory). */
  private first = 0;
  /** Where the second run's first message starts. */
  private second = 0;
  /** Records in the first run. */
  private split = 0;
  private size = 0;

  /**
   * Writes the headers of up to `max` records of `length` message bytes (`size` bytes each in the
   * ring) from ring position `position`, with `free` bytes free there, and returns the position
   * after the last one (`count` says how many). Nothing is published here.
   */
  layOut(words: Int32Array, dataOffset: number, capacity: number, position: number, free: number, max: number, size: number, length: number): number {
    const index = position & (capacity - 1);
    const toEnd = capacity - index;
    // Whole records by `| 0`, not Math.floor: TurboFan takes a division that was exact all
    // through warm-up to stay exact, and deoptimises ("lost precision") the first time it is
    // not, which came inside a measured window (seen with mpsc-cas in CI). `| 0` truncates.
    const first = Math.min(max, (Math.min(free, toEnd) / size) | 0);
    writeHeaders(words, dataOffset + index, first, size, length);
    this.first = dataOffset + index + RING_RECORD_HEADER_BYTES;
    this.split = first;
    this.size = size;
    let used = first * size;
    let n = first;
    // The first run stopped at the end of the buffer with records still wanted: pad to the end
    // and go on from the start, when the padding and at least one record fit.
    const tail = toEnd - used;
    if (first < max && tail < size && free - used >= tail + size) {
      if (tail > 0) {
        const at = (dataOffset + index + used) >> 2;
        words[at] = tail;
        words[at + 1] = RecordType.PADDING;
      }
      used += tail;
      const second = Math.min(max - first, ((free - used) / size) | 0);
      writeHeaders(words, dataOffset, second, size, length);
      this.second = dataOffset + RING_RECORD_HEADER_BYTES;
      used += second * size;
      n += second;
    }
    this.count = n;
    return (position + used) | 0;
  }

  /** Byte offset (into the ring's memory) of the i-th message of the last layout. */
  offsetOf(i: number): number {
    return i < this.split ? this.first + i * this.size : this.second + (i - this.split) * this.size;
  }
}

function writeHeaders(words: Int32Array, at: number, n: number, size: number, length: number): void {
  const stride = size >> 2;
  for (let i = 0, w = at >> 2; i < n; i++, w += stride) {
    words[w] = length;
    words[w + 1] = RecordType.MESSAGE;
  }
}
