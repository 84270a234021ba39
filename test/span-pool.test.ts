/**
 * The broker's span pool (broker/span-pool.ts): memory for frames that span reads is reused, the
 * free list never holds more than its limit, what it drops is told as garbage (for the heap
 * goal's young-generation collections), and an idle pool lets its free list go.
 */
import { describe, expect, it } from 'vitest';
import { FrameReader } from '../broker/frame-reader.js';
import { SPAN_ROUND_BYTES, type SpanMemory, SpanPool } from '../broker/span-pool.js';

describe('span pool', () => {
  it('gives views exactly as long as asked, and reuses a buffer given back for a frame of about its size', () => {
    const pool = new SpanPool(1 << 20);
    const a = pool.take(100_000);
    expect(a.byteLength).toBe(100_000);
    expect(a.buffer.byteLength).toBe(2 * SPAN_ROUND_BYTES);
    pool.give(a);
    expect(pool.spareBytes).toBe(2 * SPAN_ROUND_BYTES);
    const b = pool.take(120_000);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteLength).toBe(120_000);
    expect(pool.spareBytes).toBe(0);
    // Not a buffer far larger than asked: what a frame holds stays within a round of its length.
    pool.give(b);
    const small = pool.take(1000);
    expect(small.buffer).not.toBe(a.buffer);
    expect(pool.made).toBe(2);
  });

  it('drops what would take its free list past the limit, and says so', () => {
    const dropped: number[] = [];
    const pool = new SpanPool(3 * SPAN_ROUND_BYTES, (bytes) => dropped.push(bytes));
    const views = [pool.take(SPAN_ROUND_BYTES), pool.take(SPAN_ROUND_BYTES), pool.take(2 * SPAN_ROUND_BYTES)];
    for (const v of views) pool.give(v);
    expect(pool.spareBytes).toBe(2 * SPAN_ROUND_BYTES);
    expect(dropped).toEqual([2 * SPAN_ROUND_BYTES]);
  });

  it('lets its free list go at a sweep when nothing was taken since the last one', () => {
    const dropped: number[] = [];
    const pool = new SpanPool(1 << 20, (bytes) => dropped.push(bytes));
    pool.give(pool.take(10));
    pool.sweep();
    expect(pool.spareBytes).toBe(SPAN_ROUND_BYTES);
    pool.sweep();
    expect(pool.spareBytes).toBe(0);
    expect(dropped).toEqual([SPAN_ROUND_BYTES]);
  });
});

describe('span pool: a frame reader using it', () => {
  /** A SpanMemory that checks its caller: every give matches one outstanding take, once. */
  function checkedSpans() {
    const pool = new SpanPool(1 << 30);
    const out = new Set<ArrayBufferLike>();
    let gives = 0;
    const memory: SpanMemory = {
      take(bytes) {
        const v = pool.take(bytes);
        expect(out.has(v.buffer), 'a buffer handed out twice at once').toBe(false);
        out.add(v.buffer);
        return v;
      },
      give(view) {
        expect(out.has(view.buffer), 'a buffer given back that was not out (twice?)').toBe(true);
        out.delete(view.buffer);
        gives++;
        pool.give(view);
      },
      allocated: (bytes) => pool.allocated(bytes),
    };
    return { memory, out, gives: () => gives };
  }

  function frame(length: number, fill: number): Uint8Array {
    const f = new Uint8Array(length).fill(fill);
    new DataView(f.buffer).setUint32(0, length, true);
    return f;
  }

  it('gives every buffer back once, after the frame was handled, across frames cut at any point', () => {
    const { memory, out, gives } = checkedSpans();
    const seen: number[] = [];
    const reader = new FrameReader(
      (bytes, at, length) => {
        // Handled while still out: the reader gives it back only after this returns.
        if (length > 64 * 1024) expect(out.has(bytes.buffer)).toBe(true);
        expect(bytes.subarray(at + 16, at + length).every((b) => b === bytes[at + 16])).toBe(true);
        seen.push(length);
      },
      false,
      1 << 24,
      memory,
    );
    const frames = [frame(200_000, 1), frame(70_000, 2), frame(1_000, 3), frame(300_008, 4), frame(65_544, 5)];
    const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      stream.set(f, at);
      at += f.length;
    }
    for (const cut of [1, 3, 5, 4096, 65_536, 100_003]) {
      for (let p = 0; p < stream.length; p += cut) reader.push(stream.subarray(p, Math.min(stream.length, p + cut)));
    }
    expect(seen).toEqual([...frames, ...frames, ...frames, ...frames, ...frames, ...frames].map((f) => f.length));
    expect(out.size).toBe(0);
    expect(gives()).toBeGreaterThan(0);
  });

  it('takes a frame whose length arrives split across reads no bigger than what arrived, until the next read', () => {
    const { memory } = checkedSpans();
    const reader = new FrameReader(() => undefined, false, 1 << 24, memory);
    const header = frame(4 * 1024 * 1024, 0).subarray(0, 300);
    reader.push(header.subarray(0, 1));
    // The read that completes the length: the owner has not seen 4 MiB yet, so nothing near it is held.
    reader.push(header.subarray(1, 200));
    expect(reader.heldBytes).toBeLessThanOrEqual(64 * 1024);
    expect(reader.declaredBytes).toBe(4 * 1024 * 1024);
    // The next read: now the whole length (the owner reserved it, or paused the reader before it).
    reader.push(header.subarray(200, 300));
    expect(reader.heldBytes).toBe(4 * 1024 * 1024);
    reader.release();
    expect(reader.heldBytes).toBe(0);
  });
});
