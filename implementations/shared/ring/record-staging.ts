/**
 * Private memory a claim lays records out in, in the rings' framing (records.ts), for backends
 * that copy a batch out at commit rather than writing in place: ringbuf-js pushes it into its
 * ring, wal appends it to the log. Grows (doubling) when a claim needs more.
 */
import { RecordType, RING_RECORD_HEADER_BYTES } from './records.js';

export class RecordStaging {
  bytes = new Uint8Array(4096);
  private words = new Int32Array(this.bytes.buffer);
  /** Size of each record of the last layout (framing and padding included). */
  size = 0;

  /** Writes the headers of `n` records of `length` message bytes, each `size` bytes apart. */
  layOut(n: number, size: number, length: number): void {
    if (n * size > this.bytes.length) {
      this.bytes = new Uint8Array(Math.max(n * size, this.bytes.length * 2));
      this.words = new Int32Array(this.bytes.buffer);
    }
    const words = this.words;
    for (let i = 0, at = 0; i < n; i++, at += size) {
      words[at >> 2] = length;
      words[(at >> 2) + 1] = RecordType.MESSAGE;
    }
    this.size = size;
  }

  /** Byte offset of the i-th record's message. */
  offsetOf(i: number): number {
    return i * this.size + RING_RECORD_HEADER_BYTES;
  }
}
