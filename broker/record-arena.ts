/**
 * Where a publishing connection's batches are kept until every reader is done with them: copied
 * out of the socket read into slabs of memory the connection reuses. The copy is required: plain
 * TCP is read into the broker's one shared buffer (shared-reads.ts), which the next read of any
 * connection overwrites; a batch kept as a view of it would be corrupted (mutant
 * batch-kept-in-read-buffer).
 *
 *   slab 0  [ b0 | b1 | b2 | ......... free ]   current: batches go in one after another
 *   slab 1  [ b7 |  (dropped)  | b9 |  ...  ]   full: freed when its last batch is dropped
 *   free    [ slab 2, slab 3 ]                   reused before any new one is made
 *
 * Why copy, and into slabs: a batch kept as a view of its socket chunk keeps the chunk alive, and
 * a chunk that outlives two young-generation collections is moved to the old generation, whose
 * memory V8 frees only at a full collection, which it starts once 64 MiB more memory outside its
 * heap is in use. A broker at 1.6M msg/s reached 70 MiB of such chunks (docs/broker.md,
 * "Memory"). A copy into a fresh buffer per batch has the same fate and cost ~15% of a core in
 * garbage collection at 500k msg/s. Copied into slabs that are reused, chunks die young, and the
 * memory a connection's batches hold is the slabs it has made, at most `maxSlabBytes`; a batch
 * that does not fit a slab (larger than half of one) or arrives when every slab is held is copied
 * into memory of its own size, which the window (at most `windowBytes` in the broker) bounds.
 *
 *   what a connection's batches hold ≤ maxSlabBytes + windowBytes  (2 × + 1 × the window)
 */

/**
 * A slab: its memory, where the next batch goes, how many batches in it are still kept, and how
 * many socket writes of its bytes have not completed. A batch is dropped once it is sent to every
 * plain subscriber, which may be before the socket has written it out: the slab is reused only
 * when both counts are 0, so a write never sends bytes a newer batch has overwritten.
 */
export interface Slab {
  readonly bytes: Uint8Array;
  readonly arena: RecordArena;
  used: number;
  live: number;
  writes: number;
}

/** The slab a view's memory belongs to (for a connection that writes the view to its socket). */
const slabOfBuffer = new WeakMap<ArrayBufferLike, Slab>();

/** The slab `records` lie in, or undefined when they are memory of their own (or were read from a log). */
export function slabHolding(records: Uint8Array): Slab | undefined {
  return slabOfBuffer.get(records.buffer);
}

/** A socket write of the slab's bytes began: the slab is not reused until `written`. */
export function writing(slab: Slab): void {
  slab.writes++;
}

/** A socket write of the slab's bytes completed (or its socket was destroyed). */
export function written(slab: Slab): void {
  slab.writes--;
  slab.arena.reuseIfIdle(slab);
}

export class RecordArena {
  private current: Slab | null = null;
  /** Every slab made and not yet let go, the current one included. */
  private readonly slabs: Slab[] = [];
  private readonly free: Slab[] = [];
  /** Bytes of batches copied into memory of their own, still kept. */
  private ownBytes = 0;
  /** Batches kept since the last `trimIfIdle`. */
  private keeps = 0;

  constructor(
    /** Bytes of one slab. */
    readonly slabBytes: number,
    /** The slabs' bytes together never pass this. */
    readonly maxSlabBytes: number,
  ) {}

  /** Sizes for a window: slabs of a quarter of it (at least 64 KiB), up to two windows of them. */
  static forWindow(windowBytes: number): RecordArena {
    const slab = Math.max(64 * 1024, Math.floor(windowBytes / 4 / 8) * 8);
    return new RecordArena(slab, Math.max(slab, 2 * windowBytes));
  }

  /** Memory this arena holds now: its slabs, and batches in memory of their own. */
  get heldBytes(): number {
    return this.slabs.length * this.slabBytes + this.ownBytes;
  }

  /** A copy of `body` that stays valid until `release` is given it back. */
  keep(body: Uint8Array): Uint8Array {
    const n = body.length;
    this.keeps++;
    if (n * 2 <= this.slabBytes) {
      let slab = this.current;
      if (slab === null || slab.used + n > this.slabBytes) slab = this.nextSlab();
      if (slab !== null) {
        // Records stay 8-aligned within the slab, as they were within their frame.
        const at = slab.used;
        slab.bytes.set(body, at);
        slab.used = at + ((n + 7) & ~7);
        slab.live++;
        return slab.bytes.subarray(at, at + n);
      }
    }
    const own = new Uint8Array(n);
    own.set(body);
    this.ownBytes += n;
    return own;
  }

  /** A batch `keep` returned is no longer kept: its slab is reused once nothing in it is. */
  release(records: Uint8Array): void {
    const slab = slabOfBuffer.get(records.buffer);
    if (slab === undefined || slab.arena !== this) {
      this.ownBytes -= records.length;
      return;
    }
    slab.live--;
    this.reuseIfIdle(slab);
  }

  /** Nothing in the slab is kept or being written: it takes new batches from its start. */
  reuseIfIdle(slab: Slab): void {
    if (slab.live > 0 || slab.writes > 0 || slab.used === 0) return;
    slab.used = 0;
    // The current slab goes on taking batches; a full one waits in the free list (a slab let
    // go and made again at every turn was 20-30 MiB more peak memory at batch 1: garbage).
    if (slab !== this.current && this.slabs.includes(slab)) this.free.push(slab);
  }

  /**
   * Called now and then (the broker's sweep): when nothing was kept since the last call, the free
   * slabs are let go, so a connection that once filled its arena and went quiet does not keep it.
   */
  trimIfIdle(): void {
    if (this.keeps === 0 && this.free.length > 0) {
      for (const slab of this.free) {
        const at = this.slabs.indexOf(slab);
        if (at >= 0) this.slabs.splice(at, 1);
      }
      this.free.length = 0;
    }
    this.keeps = 0;
  }

  /** The connection is gone and every batch released: the slabs go to the garbage collector. */
  clear(): void {
    this.current = null;
    this.slabs.length = 0;
    this.free.length = 0;
  }

  /** Leaves the current slab (freed now if nothing in it is kept) and takes a free or new one; null when the arena is at its size. */
  private nextSlab(): Slab | null {
    const old = this.current;
    this.current = null;
    if (old !== null) this.reuseIfIdle(old);
    let slab = this.free.pop() ?? null;
    if (slab === null && (this.slabs.length + 1) * this.slabBytes <= this.maxSlabBytes) {
      slab = { bytes: new Uint8Array(this.slabBytes), arena: this, used: 0, live: 0, writes: 0 };
      slabOfBuffer.set(slab.bytes.buffer, slab);
      this.slabs.push(slab);
    }
    this.current = slab;
    return slab;
  }
}
