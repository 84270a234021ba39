/**
 * Memory for frames that span socket reads, reused: a frame longer than what one read brings is
 * copied out of its reads into memory of its own (broker/frame-reader.ts), handed to the
 * connection, copied again into its arena, and dropped. At payload 1 KiB, batch 256, that is a
 * ~270 KiB buffer per batch, a thousand and more a second, which glibc's heap serves and takes
 * back in an order that leaves it in pieces it cannot return to the system. Reused, they are
 * made once.
 *
 *   take(n) ─▶ a free buffer with room for n and less than n + SPAN_ROUND_BYTES, else a new one
 *              of n rounded up to SPAN_ROUND_BYTES; the caller gets a view exactly n long
 *   give(v) ─▶ its whole buffer goes back on the free list, unless the list already holds
 *              `maxSpareBytes`: then it is dropped (garbage, told to `dropped`)
 *   sweep() ─▶ a pool nothing was taken from since the last sweep lets its free list go
 *
 * Only frames longer than one read (64 KiB) take it, for their whole length, once their owner
 * could reserve it; their first part (at most one read) and shorter frames (every frame before
 * HELLO) get memory of exactly their length. Memory: what frames being read hold (their lengths
 * rounded up to SPAN_ROUND_BYTES, which is what the input budget reserves for them), plus at
 * most `maxSpareBytes` on the free list.
 */

/** Buffers are made in multiples of this, so frames of nearly the same length share them. */
export const SPAN_ROUND_BYTES = 64 * 1024;

/** Where a frame reader gets memory for a frame that spans reads, and gives it back once handled. */
export interface SpanMemory {
  /** A view exactly `bytes` long, of memory nobody else uses. */
  take(bytes: number): Uint8Array;
  /** The memory of a view `take` returned; nobody uses it after this. */
  give(view: Uint8Array): void;
  /** What `take(bytes)` allocates at most (for the input budget's reservation). */
  allocated(bytes: number): number;
}

/** No reuse: a new buffer for each, dropped when given back (a reader without a pool). */
export const FRESH_SPANS: SpanMemory = {
  take: (bytes) => new Uint8Array(new ArrayBuffer(bytes)),
  give: () => undefined,
  allocated: (bytes) => bytes,
};

export class SpanPool implements SpanMemory {
  private readonly free: Uint8Array[] = [];
  /** Bytes on the free list. */
  spareBytes = 0;
  /** Buffers made so far (for tests and the curious). */
  made = 0;
  private takenSinceSweep = false;

  constructor(
    private readonly maxSpareBytes: number,
    /** Told the size of each buffer dropped: garbage outside V8's heap, for its young-generation collections. */
    private readonly dropped: (bytes: number) => void = () => undefined,
  ) {}

  take(bytes: number): Uint8Array {
    this.takenSinceSweep = true;
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      const buffer = free[i];
      if (buffer.byteLength >= bytes && buffer.byteLength < bytes + SPAN_ROUND_BYTES) {
        free[i] = free[free.length - 1];
        free.pop();
        this.spareBytes -= buffer.byteLength;
        return buffer.subarray(0, bytes);
      }
    }
    const size = this.allocated(bytes);
    this.made++;
    return new Uint8Array(new ArrayBuffer(size), 0, bytes);
  }

  allocated(bytes: number): number {
    return Math.ceil(bytes / SPAN_ROUND_BYTES) * SPAN_ROUND_BYTES;
  }

  give(view: Uint8Array): void {
    const size = view.buffer.byteLength;
    if (this.spareBytes + size > this.maxSpareBytes) {
      this.dropped(size);
      return;
    }
    this.free.push(new Uint8Array(view.buffer, 0, size));
    this.spareBytes += size;
  }

  /** Lets the free list go if nothing was taken since the last sweep (an idle broker keeps none). */
  sweep(): void {
    if (!this.takenSinceSweep && this.spareBytes > 0) {
      this.dropped(this.spareBytes);
      this.free.length = 0;
      this.spareBytes = 0;
    }
    this.takenSinceSweep = false;
  }
}
