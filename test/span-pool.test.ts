/**
 * The broker's span pool (broker/span-pool.ts): memory for frames that span reads is reused, the
 * free list never holds more than its limit, what it drops is told as garbage (for the heap
 * goal's young-generation collections), and an idle pool lets its free list go.
 */
import { describe, expect, it } from 'vitest';
import { SPAN_ROUND_BYTES, SpanPool } from '../broker/span-pool.js';

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
