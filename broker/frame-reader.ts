/**
 * Cuts a TCP byte stream into frames (broker/frames.ts). A frame's length is checked as soon as
 * its first 4 bytes arrive, so an oversized or malformed length costs nothing to refuse: no
 * buffer is ever sized from an unchecked number.
 *
 * `aligned`: every frame is handed out from memory that starts 8-aligned (one copy per frame
 * into a reused buffer), so readers can alias envelopes with a Uint32Array; socket chunks start
 * anywhere. Otherwise a frame that lies inside one chunk is handed out as a view of it (no copy).
 */
import { F_LENGTH, FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './frames.js';

/**
 * One whole frame: `length` bytes of `bytes` from `at`, the header first. `reused`: the memory
 * is the reader's own and is overwritten after the call; otherwise it is the socket's chunk,
 * which nobody writes again, so a receiver may keep a view of it instead of a copy.
 */
export type FrameHandler = (bytes: Uint8Array, at: number, length: number, reused: boolean) => void;

export class FrameError extends Error {}

export class FrameReader {
  /** Bytes of an incomplete frame, kept between chunks. */
  private partial: Uint8Array = new Uint8Array(0);
  private partialLength = 0;
  /** The reused, 8-aligned buffer for `aligned` readers (grows to the largest frame seen). */
  private scratch = new Uint8Array(new ArrayBuffer(64 * 1024));
  private readonly maxFrameBytes: number;

  constructor(
    private readonly onFrame: FrameHandler,
    private readonly aligned: boolean,
    maxFrameBytes = MAX_FRAME_BYTES,
  ) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** True while part of a frame is waiting for the rest (a stalled sender shows here). */
  get midFrame(): boolean {
    return this.partialLength > 0;
  }

  /** Feeds a chunk; calls onFrame for every frame it completes. Throws FrameError on a bad length. */
  push(chunk: Uint8Array): void {
    let at = 0;
    if (this.partialLength > 0) {
      at = this.fillPartial(chunk);
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
    if (at < chunk.length) this.keep(chunk.subarray(at));
  }

  private checkLength(length: number): void {
    if (length < FRAME_HEADER_BYTES || length > this.maxFrameBytes || (length & 7) !== 0) {
      throw new FrameError(`frame length ${length} is outside ${FRAME_HEADER_BYTES}..${this.maxFrameBytes} or not a multiple of 8`);
    }
  }

  private deliver(chunk: Uint8Array, at: number, length: number): void {
    if (!this.aligned) {
      this.onFrame(chunk, at, length, false);
      return;
    }
    // The whole scratch buffer is handed out, not a view per frame: readers that keep one codec
    // per buffer then make it once, not once a frame.
    if (this.scratch.length < length) this.scratch = new Uint8Array(new ArrayBuffer(Math.max(length, this.scratch.length * 2)));
    this.scratch.set(chunk.subarray(at, at + length), 0);
    this.onFrame(this.scratch, 0, length, true);
  }

  /** Starts keeping an incomplete frame (fewer bytes than its length, or than its length field). */
  private keep(rest: Uint8Array): void {
    const need = rest.length >= 4 ? new DataView(rest.buffer, rest.byteOffset, 4).getUint32(0, true) : FRAME_HEADER_BYTES;
    if (this.partial.length < need) this.partial = new Uint8Array(new ArrayBuffer(padCapacity(need)));
    this.partial.set(rest, 0);
    this.partialLength = rest.length;
  }

  /** Adds the chunk's first bytes to the kept frame; returns where the chunk's unread part starts, or -1 if it was all taken. */
  private fillPartial(chunk: Uint8Array): number {
    let taken = 0;
    if (this.partialLength < 4) {
      taken = Math.min(4 - this.partialLength, chunk.length);
      this.partial.set(chunk.subarray(0, taken), this.partialLength);
      this.partialLength += taken;
      if (this.partialLength < 4) return -1;
      const length = new DataView(this.partial.buffer, 0, 4).getUint32(0, true);
      this.checkLength(length);
      if (this.partial.length < length) {
        const grown = new Uint8Array(new ArrayBuffer(padCapacity(length)));
        grown.set(this.partial.subarray(0, this.partialLength));
        this.partial = grown;
      }
    }
    const length = new DataView(this.partial.buffer, 0, 4).getUint32(0, true);
    const more = Math.min(length - this.partialLength, chunk.length - taken);
    this.partial.set(chunk.subarray(taken, taken + more), this.partialLength);
    this.partialLength += more;
    taken += more;
    if (this.partialLength < length) return -1;
    this.partialLength = 0;
    // The kept buffer is 8-aligned already: hand it out as it is.
    this.onFrame(this.partial, 0, length, true);
    return taken;
  }
}

function padCapacity(n: number): number {
  return Math.max(FRAME_HEADER_BYTES, (n + 7) & ~7);
}
