/**
 * A connection's output for one turn of the event loop: small frames and small batches are
 * copied into one buffer and written once at the turn's end; a large batch is written as the
 * view it is kept in (no copy), after what was gathered before it.
 *
 *   gathered  [ OK | CREDIT | DELIVER hdr | records | DELIVER hdr | records | … ]  ─▶ one write
 *   large     [ … | DELIVER hdr ] ─▶ write,  records (a view of the arena's slab) ─▶ write
 *
 * Why: at batch 1 the broker spent ~45% of its time collecting garbage, much of it made per
 * delivery: a header Buffer, a Buffer wrapping the records, and two entries in the socket's
 * write queue. Copying ~100 bytes costs less than any of them. A buffer takes bytes only after
 * those it handed to the socket, and is reused only once the socket has written all of it, so
 * nothing a write still reads is changed.
 *
 * A view of an arena slab written to the socket keeps that slab from reuse until the write has
 * completed (record-arena.ts: `writing`, `written`); writes complete in order, so an empty write
 * after the turn's last one says when all of them have.
 */
import type { Socket } from 'node:net';
import { FRAME_HEADER_BYTES, FrameFlags, FrameType, writeFrameHeaderInto } from './frames.js';
import { type Slab, slabHolding, writing, written } from './record-arena.js';

/** Bytes of one gathering buffer. */
const BUFFER_BYTES = 64 * 1024;
/** Batches up to this size are copied; larger ones are written as their view. */
const COPY_AT_MOST = 16 * 1024;
/** Gathering buffers kept for reuse; more are left to the garbage collector. */
const SPARE_BUFFERS = 4;
/** An empty write queued after a turn's last: its callback says every write before it is done. */
const NOTHING = new Uint8Array(0);

export class Outbox {
  /** The gathering buffer: bytes before `flushedTo` are the socket's, never written again; `used` is its end. */
  private buffer: Uint8Array | null = null;
  private view: DataView | null = null;
  private used = 0;
  private flushedTo = 0;
  private readonly spare: Uint8Array[] = [];
  /** Gathering buffers filled this turn: reused once the socket has written everything before the turn's end. */
  private retired: Uint8Array[] = [];
  /** Slabs this turn's large deliveries wrote views of. */
  private slabs: Slab[] = [];
  private corked = false;
  /** Turns with output since the last `trimIfIdle`. */
  private turns = 0;

  constructor(private readonly socket: Socket) {}

  /** Bytes gathered and not yet handed to the socket, and bytes the socket has not sent: the connection's unsent output. */
  get pendingBytes(): number {
    return this.used - this.flushedTo + this.socket.writableLength;
  }

  /** Queues a whole frame (a copy is taken when it is small). */
  frame(frame: Uint8Array): void {
    this.startTurn();
    if (frame.length > COPY_AT_MOST) {
      this.flush();
      this.socket.write(frame);
      return;
    }
    const at = this.room(frame.length);
    (this.buffer as Uint8Array).set(frame, at);
  }

  /** Queues a DELIVER of `records` (a batch's records as kept; copied when small, else written as the view). */
  deliver(subscription: number, tag: number, count: number, records: Uint8Array, redelivered: boolean): void {
    this.startTurn();
    const small = records.length <= COPY_AT_MOST;
    const at = this.room(FRAME_HEADER_BYTES + (small ? records.length : 0));
    const flags = redelivered ? FrameFlags.REDELIVERED : 0;
    writeFrameHeaderInto(this.view as DataView, at, FrameType.DELIVER, flags, count, subscription, tag, FRAME_HEADER_BYTES + records.length);
    if (small) {
      (this.buffer as Uint8Array).set(records, at + FRAME_HEADER_BYTES);
      return;
    }
    this.flush();
    this.socket.write(records);
    const slab = slabHolding(records);
    if (slab !== undefined) {
      writing(slab);
      this.slabs.push(slab);
    }
  }

  /**
   * Hands what is gathered to the socket now (at the turn's end, before a large batch, before an
   * ERROR written straight to the socket, before an end). The buffer goes on taking bytes after
   * it: nothing the socket may still be reading is written again.
   */
  flush(): void {
    if (this.buffer === null || this.used === this.flushedTo) return;
    const part = this.buffer.subarray(this.flushedTo, this.used);
    this.flushedTo = this.used;
    if (this.socket.writable) this.socket.write(part);
  }

  /**
   * The end of the turn: everything gathered goes out, and the buffers filled and slabs written
   * this turn are given back once the socket has written it all (writes complete in order: an
   * empty write queued last completes last). A socket that can no longer write may still be
   * sending what it had: they wait for its close.
   */
  private endTurn(): void {
    this.corked = false;
    this.flush();
    if (this.retired.length > 0 || this.slabs.length > 0) {
      const retired = this.retired;
      const slabs = this.slabs;
      this.retired = [];
      this.slabs = [];
      const release = (): void => {
        for (const buffer of retired) if (this.spare.length < SPARE_BUFFERS) this.spare.push(buffer);
        for (const slab of slabs) written(slab);
      };
      if (this.socket.writable) this.socket.write(NOTHING, release);
      else if (this.socket.closed) release();
      else this.socket.once('close', release);
    }
    this.socket.uncork();
  }

  /**
   * Called now and then (the broker's sweep): when nothing was sent since the last call and all
   * of it is handed to the socket, the buffers are let go (an idle connection holds none; the
   * socket keeps what it still writes alive by itself).
   */
  trimIfIdle(): void {
    if (this.turns === 0 && this.used === this.flushedTo) {
      this.buffer = null;
      this.view = null;
      this.used = 0;
      this.flushedTo = 0;
      this.spare.length = 0;
    }
    this.turns = 0;
  }

  private startTurn(): void {
    if (this.corked) return;
    this.turns++;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => this.endTurn());
  }

  /** Where `n` more bytes go in the gathering buffer (the next buffer when they do not fit). */
  private room(n: number): number {
    if (this.buffer !== null && this.used + n > this.buffer.length) {
      this.flush();
      this.retired.push(this.buffer);
      this.buffer = null;
    }
    if (this.buffer === null) {
      this.buffer = this.spare.pop() ?? new Uint8Array(BUFFER_BYTES);
      this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
      this.used = 0;
      this.flushedTo = 0;
    }
    const at = this.used;
    this.used += n;
    return at;
  }
}
