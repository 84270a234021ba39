/**
 * Cuts a TCP byte stream into frames (broker/frames.ts), holding no more memory for a frame
 * than has arrived of it.
 *
 * - A frame's length is checked as soon as its first 4 bytes arrive, against the protocol's
 *   range and against `limit`, which the owner sets (the broker: 4 KiB before HELLO, its window
 *   after). No buffer is ever sized from an unchecked number.
 * - A frame that lies inside one socket chunk is handed out where it lies (no copy).
 * - A frame that spans chunks is copied out of them and handed out from there when complete
 *   (see `append` for when its memory is taken: a peer that announces 4 MiB and sends 2 KiB
 *   costs 2 KiB; one that sends a byte a read costs one buffer, not an object per byte): first
 *   what arrived, in memory of exactly that; then, once the owner could reserve it, its whole
 *   length, from `spans` (the broker's pool reuses it, in multiples of 64 KiB) for a frame longer
 *   than a read, else memory of exactly its length. `heldBytes` is that memory, as allocated;
 *   `declaredBytes` what the frame will hold when complete (for the owner's budget); between
 *   frames the reader holds nothing (pooled memory is given back).
 * - `aligned` readers (the client) get every frame in one reused 8-aligned scratch buffer they
 *   may alias with a Uint32Array, so they must not keep it.
 *
 *   chunk 1                 chunk 2              chunk 3
 *   ┌──────┬──────┬─────┐   ┌───────────────┐    ┌────────┬──────┐
 *   │ f1   │ f2   │ f3… │   │ …f3…          │    │ …f3    │ f4   │
 *   └──────┴──────┴─────┘   └───────────────┘    └────────┴──────┘
 *    views  views  copied ──▶ copied ────────────▶ copied ─▶ f3 (copied out), f4 a view
 */
import { F_LENGTH, FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './frames.js';
import { FRESH_SPANS, type SpanMemory } from './span-pool.js';

/** Frames up to this long get their whole length at their first bytes: no more than one socket read. */
const SMALL_FRAME_BYTES = 64 * 1024;

/**
 * One whole frame: `length` bytes of `bytes` from `at`, the header first. Valid only during the
 * call: a frame inside one chunk is a view of that chunk, and the broker's chunks are its one
 * shared read buffer (shared-reads.ts), overwritten by the next read; an `aligned` reader's are
 * overwritten after the call too. A receiver copies what it keeps.
 */
export type FrameHandler = (bytes: Uint8Array, at: number, length: number) => void;

export class FrameError extends Error {
  /** True when the length is legal in the protocol but over the limit this connection has now. */
  constructor(
    message: string,
    readonly overLimit: boolean,
  ) {
    super(message);
  }
}

export class FrameReader {
  /** The incomplete frame's bytes so far, in memory of its own (empty between frames). */
  private partial: Uint8Array = new Uint8Array(0);
  /** Bytes of one-use memory made for incomplete frames so far (not from `spans`; for the owner's garbage accounting). */
  copiedBytes = 0;
  /** True when `partial` is the span pool's, to be given back. */
  private partialPooled = false;
  private filled = 0;
  /** The incomplete frame's length, once its first 4 bytes are in (0 before). */
  private expected = 0;
  /** When (Date.now()) the incomplete frame's first bytes arrived; 0 between frames. */
  partialSince = 0;
  /** The reused, 8-aligned buffer for `aligned` readers, for whole frames and incomplete ones alike (made on first use, grows to the largest frame seen). */
  private scratch: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly onFrame: FrameHandler,
    private readonly aligned: boolean,
    /** The longest frame accepted now; the owner may change it between chunks. */
    public limit = MAX_FRAME_BYTES,
    /** Where a plain reader's frames that span reads are copied (the broker's pool, span-pool.ts). */
    private readonly spans: SpanMemory = FRESH_SPANS,
  ) {}

  /** True while part of a frame is waiting for the rest. */
  get midFrame(): boolean {
    return this.filled > 0;
  }

  /** Memory held for the incomplete frame, as allocated (a pooled buffer's whole size). */
  get heldBytes(): number {
    return this.partialPooled ? this.partial.buffer.byteLength : this.partial.byteLength;
  }

  /** What the incomplete frame will hold when complete (its length as its memory will be allocated, or what is held while the length is not in yet). */
  get declaredBytes(): number {
    if (this.filled === 0) return 0;
    const whole = !this.aligned && this.expected > SMALL_FRAME_BYTES ? this.spans.allocated(this.expected) : this.expected;
    return Math.max(whole, this.heldBytes);
  }

  /** Gives back the incomplete frame's memory (its connection closed). */
  release(): void {
    if (this.partialPooled) this.spans.give(this.partial);
    this.clearPartial();
  }

  /** Between frames: no incomplete frame, nothing held. */
  private clearPartial(): void {
    this.partialPooled = false;
    this.partial = new Uint8Array(0);
    this.filled = 0;
    this.expected = 0;
    this.partialSince = 0;
  }

  /** The incomplete frame's clock starts again (its sender was held back by the reader's owner). */
  restartClock(now: number): void {
    if (this.partialSince > 0) this.partialSince = now;
  }

  /** Feeds a chunk; calls onFrame for every frame it completes. Throws FrameError on a bad length. */
  push(chunk: Uint8Array): void {
    let at = 0;
    if (this.filled > 0) {
      at = this.continueFrame(chunk);
      if (at < 0) return;
    }
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (chunk.length - at >= 4) {
      const length = view.getUint32(at + F_LENGTH, true);
      this.checkLength(length);
      if (chunk.length - at < length) break;
      this.deliver(chunk, at, length);
      at += length;
    }
    if (at < chunk.length) {
      this.partialSince = Date.now();
      if (chunk.length - at >= 4) this.expected = view.getUint32(at + F_LENGTH, true);
      this.append(chunk.subarray(at));
    }
  }

  private checkLength(length: number): void {
    if (length < FRAME_HEADER_BYTES || length > MAX_FRAME_BYTES || (length & 7) !== 0) {
      throw new FrameError(`frame length ${length} is outside ${FRAME_HEADER_BYTES}..${MAX_FRAME_BYTES} or not a multiple of 8`, false);
    }
    if (length > this.limit) throw new FrameError(`frame length ${length} is over the ${this.limit} bytes this connection may send now`, true);
  }

  private deliver(chunk: Uint8Array, at: number, length: number): void {
    if (!this.aligned) {
      this.onFrame(chunk, at, length);
      return;
    }
    // The whole scratch buffer is handed out, not a view per frame: readers that keep one codec
    // per buffer then make it once, not once a frame.
    const scratch = this.scratchFor(length);
    scratch.set(chunk.subarray(at, at + length), 0);
    this.onFrame(scratch, 0, length);
  }

  /**
   * The scratch buffer, at least `length` long. An incomplete frame may share it with the whole
   * frames of the same read: those come only after it completed, and a new one starts only after
   * them.
   */
  private scratchFor(length: number): Uint8Array {
    if (this.scratch.length < length) this.scratch = new Uint8Array(new ArrayBuffer(Math.max(length, 64 * 1024, this.scratch.length * 2)));
    return this.scratch;
  }

  /**
   * Copies bytes of the incomplete frame in. Memory: a frame of up to 64 KiB gets its length at
   * once (no more than one socket read); a longer one first what arrived (one read), then, with
   * its next bytes, its whole length: by then its owner has reserved that length (the broker's
   * input budget) or paused it, so no read is taken on memory nobody counted. An `aligned` reader
   * (the client, which keeps no frame) uses its scratch buffer.
   */
  private append(bytes: Uint8Array, lengthJustLearned = false): void {
    const total = this.filled + bytes.length;
    if (total > this.partial.length) {
      let size = Math.max(16, total);
      // The whole length only once the owner has seen it (after the read that brought its
      // first bytes, or its length): not in the read that brought the length.
      const reserved = this.filled > 0 && !lengthJustLearned;
      if (this.expected > 0) size = this.expected <= SMALL_FRAME_BYTES || reserved ? this.expected : total;
      // A frame longer than a read takes its whole length from `spans` (reused); its first part
      // (at most one read) and a short frame, memory of exactly their length.
      const large = !this.aligned && this.expected > SMALL_FRAME_BYTES && size === this.expected;
      let next: Uint8Array;
      if (this.aligned) next = this.scratchFor(size);
      else if (large) next = this.spans.take(size);
      else {
        next = new Uint8Array(new ArrayBuffer(size));
        this.copiedBytes += size;
      }
      next.set(this.partial.subarray(0, this.filled));
      if (this.partialPooled) this.spans.give(this.partial);
      this.partial = next;
      this.partialPooled = large;
    }
    this.partial.set(bytes, this.filled);
    this.filled = total;
  }

  /** Adds the chunk's first bytes to the incomplete frame; returns where the chunk's unread part starts, or -1 if it was all taken. */
  private continueFrame(chunk: Uint8Array): number {
    let taken = 0;
    if (this.expected === 0) {
      taken = Math.min(4 - this.filled, chunk.length);
      this.append(chunk.subarray(0, taken));
      if (this.filled < 4) return -1;
      const length = new DataView(this.partial.buffer, 0, 4).getUint32(0, true);
      this.checkLength(length);
      this.expected = length;
    }
    const need = Math.min(this.expected - this.filled, chunk.length - taken);
    this.append(chunk.subarray(taken, taken + need), taken > 0);
    taken += need;
    if (this.filled < this.expected) return -1;
    // Complete: a view exactly its length (the aligned reader's is its scratch buffer).
    const frame = this.partial;
    const length = this.expected;
    const pooled = this.partialPooled;
    this.clearPartial();
    this.onFrame(frame, 0, length);
    // Handled: whoever kept part of it made a copy (FrameHandler), so its memory is free again.
    if (pooled) this.spans.give(frame);
    return taken;
  }
}
