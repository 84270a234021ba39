/**
 * Cuts a TCP byte stream into frames (broker/frames.ts), holding no more memory for a frame
 * than has arrived of it.
 *
 * - A frame's length is checked as soon as its first 4 bytes arrive, against the protocol's
 *   range and against `limit`, which the owner sets (the broker: 4 KiB before HELLO, its window
 *   after). No buffer is ever sized from an unchecked number.
 * - A frame that lies inside one socket chunk is handed out where it lies (no copy).
 * - A frame that spans chunks is kept as the pieces that arrived (views of their chunks, no
 *   copy), then joined once into memory of exactly its length when its last byte arrives. So a
 *   peer that announces 16 MiB and sends 2 KiB costs 2 KiB, and nothing stays allocated between
 *   frames. `heldBytes` is what the pieces keep alive (their whole chunks), for the owner's budget.
 * - `aligned` readers (the client) get every frame in an 8-aligned scratch buffer that they may
 *   alias with a Uint32Array; it is reused, so they must not keep it.
 *
 *   chunk 1                 chunk 2              chunk 3
 *   ┌──────┬──────┬─────┐   ┌───────────────┐    ┌────────┬──────┐
 *   │ f1   │ f2   │ f3… │   │ …f3…          │    │ …f3    │ f4   │
 *   └──────┴──────┴─────┘   └───────────────┘    └────────┴──────┘
 *    views  views  piece      piece               joined ─▶ f3 (exact size), f4 a view
 */
import { F_LENGTH, FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './frames.js';

/**
 * One whole frame: `length` bytes of `bytes` from `at`, the header first. `reused`: the memory
 * is the reader's own and is overwritten after the call; otherwise nobody writes it again, so a
 * receiver may keep a view of it instead of a copy (`bytes.buffer` is what that view keeps alive).
 */
export type FrameHandler = (bytes: Uint8Array, at: number, length: number, reused: boolean) => void;

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
  /** The pieces of the incomplete frame, in order. */
  private pieces: Uint8Array[] = [];
  private piecesLength = 0;
  /** The incomplete frame's length, once its first 4 bytes are in (0 before). */
  private expected = 0;
  /** Bytes the pieces keep alive (their backing memory, not just their views). */
  heldBytes = 0;
  /** When (Date.now()) the incomplete frame's first bytes arrived; 0 between frames. */
  partialSince = 0;
  /** The reused, 8-aligned buffer for `aligned` readers (made on first use, grows to the largest frame seen). */
  private scratch = new Uint8Array(0);

  constructor(
    private readonly onFrame: FrameHandler,
    private readonly aligned: boolean,
    /** The longest frame accepted now; the owner may change it between chunks. */
    public limit = MAX_FRAME_BYTES,
  ) {}

  /** True while part of a frame is waiting for the rest. */
  get midFrame(): boolean {
    return this.piecesLength > 0;
  }

  /** The incomplete frame's clock starts again (its sender was held back by the reader's owner). */
  restartClock(now: number): void {
    if (this.partialSince > 0) this.partialSince = now;
  }

  /** Feeds a chunk; calls onFrame for every frame it completes. Throws FrameError on a bad length. */
  push(chunk: Uint8Array): void {
    let at = 0;
    if (this.piecesLength > 0) {
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
      this.keep(chunk.subarray(at));
      if (chunk.length - at >= 4) this.expected = view.getUint32(at + F_LENGTH, true);
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
      this.onFrame(chunk, at, length, false);
      return;
    }
    // The whole scratch buffer is handed out, not a view per frame: readers that keep one codec
    // per buffer then make it once, not once a frame.
    const scratch = this.scratchFor(length);
    scratch.set(chunk.subarray(at, at + length), 0);
    this.onFrame(scratch, 0, length, true);
  }

  private scratchFor(length: number): Uint8Array {
    if (this.scratch.length < length) this.scratch = new Uint8Array(new ArrayBuffer(Math.max(length, 64 * 1024, this.scratch.length * 2)));
    return this.scratch;
  }

  /** Keeps a piece of the incomplete frame as a view of its chunk, counting the whole chunk it keeps alive. */
  private keep(piece: Uint8Array): void {
    this.pieces.push(piece);
    this.piecesLength += piece.length;
    this.heldBytes += piece.buffer.byteLength;
  }

  /** Adds the chunk's first bytes to the incomplete frame; returns where the chunk's unread part starts, or -1 if it was all taken. */
  private continueFrame(chunk: Uint8Array): number {
    if (this.expected === 0) {
      if (this.piecesLength + chunk.length < 4) {
        this.keep(chunk);
        return -1;
      }
      const head = new Uint8Array(4);
      let k = 0;
      for (const p of this.pieces) {
        head.set(p.subarray(0, 4 - k), k);
        k += Math.min(p.length, 4 - k);
      }
      head.set(chunk.subarray(0, 4 - k), k);
      const length = new DataView(head.buffer).getUint32(0, true);
      this.checkLength(length);
      this.expected = length;
    }
    const need = this.expected - this.piecesLength;
    if (chunk.length < need) {
      this.keep(chunk);
      return -1;
    }
    const length = this.expected;
    const frame = this.aligned ? this.scratchFor(length) : new Uint8Array(new ArrayBuffer(length));
    let k = 0;
    for (const p of this.pieces) {
      frame.set(p, k);
      k += p.length;
    }
    frame.set(chunk.subarray(0, need), k);
    this.pieces = [];
    this.piecesLength = 0;
    this.expected = 0;
    this.heldBytes = 0;
    this.partialSince = 0;
    this.onFrame(frame, 0, length, this.aligned);
    return need;
  }
}
