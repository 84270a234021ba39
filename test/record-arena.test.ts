/**
 * What guards the broker's record arena (broker/record-arena.ts): a batch's bytes never change
 * while it is kept or while a socket write of its slab has not completed, and what the arena
 * holds stays within its bound (slabs up to `maxSlabBytes`, the rest copies counted by size).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordArena, slabHolding, writing, written } from '../broker/record-arena.js';

function filled(n: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (seed * 31 + i * 7) & 0xff;
  return bytes;
}

describe('RecordArena', () => {
  it('copies a batch into a slab and reuses the slab only once nothing in it is kept or being written', () => {
    const arena = new RecordArena(1024, 4096);
    const a = arena.keep(filled(400, 1));
    const slab = slabHolding(a);
    expect(slab).toBeDefined();
    expect(a).toEqual(filled(400, 1));
    // A subscriber's socket is writing it out; the topic then drops it.
    writing(slab!);
    arena.release(a);
    const b = arena.keep(filled(400, 2));
    // Not written over: the write still reads a's bytes.
    expect(a).toEqual(filled(400, 1));
    expect(b.byteOffset).not.toBe(a.byteOffset);
    arena.release(b);
    written(slab!);
    // Now nothing in it is kept or written: the next batch goes at its start.
    const c = arena.keep(filled(64, 3));
    expect(c.byteOffset).toBe(0);
    expect(slabHolding(c)).toBe(slab);
  });

  it('reuses a full slab once its batches are released, and lets go of free slabs once nothing was kept for a sweep', () => {
    const arena = new RecordArena(1024, 8192);
    // Four full slabs of two batches each, then a fifth slab current.
    const kept = Array.from({ length: 9 }, (_, k) => arena.keep(filled(500, k)));
    const slabs = [...new Set(kept.map((k) => slabHolding(k)))];
    expect(slabs.length).toBe(5);
    for (const k of kept.slice(0, 8)) arena.release(k);
    expect(arena.heldBytes).toBe(5 * 1024);
    // The fifth still has room for one; the next goes into a freed slab, not a new one.
    arena.keep(filled(500, 20));
    const next = arena.keep(filled(500, 21));
    expect(slabs.slice(0, 4)).toContain(slabHolding(next));
    expect(arena.heldBytes).toBe(5 * 1024);
    // A sweep after batches were kept changes nothing; the next, with none kept since, lets the free ones go.
    arena.trimIfIdle();
    expect(arena.heldBytes).toBe(5 * 1024);
    arena.trimIfIdle();
    expect(arena.heldBytes).toBe(2 * 1024);
  });

  it('copies a batch larger than half a slab, or one past the slabs it may make, into memory of its own, counted', () => {
    const arena = new RecordArena(1024, 2048);
    const big = arena.keep(filled(600, 1));
    expect(slabHolding(big)).toBeUndefined();
    expect(arena.heldBytes).toBe(600);
    const kept = [0, 1, 2, 3].map((k) => arena.keep(filled(500, k)));
    // Two slabs of two batches each: 2048 bytes, the most it may make.
    expect(new Set(kept.map((k) => slabHolding(k))).size).toBe(2);
    const over = arena.keep(filled(500, 9));
    expect(slabHolding(over)).toBeUndefined();
    expect(arena.heldBytes).toBe(2048 + 600 + 500);
    arena.release(big);
    arena.release(over);
    expect(arena.heldBytes).toBe(2048);
  });

  it('never changes a kept batch, or one whose slab is being written, whatever the order of keeps, releases and writes', () => {
    type Op = { kind: 'keep'; size: number } | { kind: 'release'; pick: number } | { kind: 'write'; pick: number } | { kind: 'written'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('keep' as const), size: fc.integer({ min: 1, max: 700 }) }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('write' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('written' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const arena = new RecordArena(1024, 3072);
        let seed = 0;
        // What must not change: batches kept, and batches a write still reads (dropped or not).
        const kept: { view: Uint8Array; expect: Uint8Array }[] = [];
        const inWrite: { view: Uint8Array; expect: Uint8Array; slab: NonNullable<ReturnType<typeof slabHolding>> }[] = [];
        for (const o of ops) {
          if (o.kind === 'keep') {
            const bytes = filled(o.size, ++seed);
            kept.push({ view: arena.keep(bytes), expect: bytes });
          } else if (o.kind === 'release' && kept.length > 0) {
            const [k] = kept.splice(o.pick % kept.length, 1);
            arena.release(k.view);
          } else if (o.kind === 'write' && kept.length > 0) {
            // A delivery: the socket writes the view (the batch may be dropped before it completes).
            const k = kept[o.pick % kept.length];
            const slab = slabHolding(k.view);
            if (slab !== undefined) {
              writing(slab);
              inWrite.push({ ...k, slab });
            }
          } else if (o.kind === 'written' && inWrite.length > 0) {
            const [w] = inWrite.splice(o.pick % inWrite.length, 1);
            written(w.slab);
          }
          for (const k of [...kept, ...inWrite]) if (!Buffer.from(k.view).equals(Buffer.from(k.expect))) return false;
          if (arena.heldBytes > 3072 + kept.reduce((s, k) => s + k.view.length, 0)) return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });
});
