/**
 * What guards the broker's heap goal (broker/heap-goal.ts): it starts a full collection once the
 * heap has grown its headroom past what was alive, not before; a young-generation one once the
 * broker has read its headroom from sockets; and it is off (null) in a process without `gc` (one
 * started without the broker's V8 flags).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHeapGoal } from '../broker/heap-goal.js';

const g = globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void };
const original = g.gc;
afterEach(() => {
  g.gc = original;
});

describe('startHeapGoal', () => {
  it('is off without gc, and with a headroom of 0', () => {
    g.gc = undefined;
    expect(startHeapGoal(1024 * 1024)).toBeNull();
    g.gc = () => {};
    expect(startHeapGoal(0)).toBeNull();
  });

  it('collects once the heap grows past its headroom, and not while it stays within it', async () => {
    let calls = 0;
    g.gc = () => void calls++;
    const small = startHeapGoal(512 * 1024 * 1024, { everyMs: 5 });
    const goal = startHeapGoal(4 * 1024 * 1024, { everyMs: 5 });
    try {
      // 16 MiB of objects kept alive for a while: past 4 MiB of headroom, within 512 MiB.
      const held = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
      await new Promise((r) => setTimeout(r, 60));
      expect(held.length).toBe(200_000);
      expect(goal?.collections).toBeGreaterThan(0);
      expect(small?.collections).toBe(0);
      expect(calls).toBe(goal?.collections);
    } finally {
      small?.stop();
      goal?.stop();
    }
  });

  it("counts the memory of array buffers as held, not only the heap's objects: buffers past the headroom start a collection", async () => {
    let calls = 0;
    g.gc = () => void calls++;
    const goal = startHeapGoal(4 * 1024 * 1024, { everyMs: 5 });
    try {
      // 16 MiB held in four buffers: a few hundred bytes of objects, 16 MiB outside the heap.
      const held = Array.from({ length: 4 }, () => new ArrayBuffer(4 * 1024 * 1024));
      await new Promise((r) => setTimeout(r, 60));
      expect(held).toHaveLength(4);
      expect(goal?.collections).toBeGreaterThan(0);
      expect(calls).toBe(goal?.collections);
    } finally {
      goal?.stop();
    }
  });

  it('collects the young generation once the broker has read its headroom from sockets, and counts again from there', () => {
    const types: (string | undefined)[] = [];
    let clock = 0;
    // Each collection "takes" 1 ms of the clock: the budget then holds the next back for 10 ms.
    g.gc = (options) => {
      types.push(options?.type);
      clock += 1;
    };
    const goal = startHeapGoal(1024 * 1024, { everyMs: 60_000, now: () => clock });
    try {
      for (let i = 0; i < 15; i++) goal!.countTransient(64 * 1024);
      expect(goal!.scavenges).toBe(0);
      goal!.countTransient(64 * 1024);
      expect(goal!.scavenges).toBe(1);
      expect(types).toEqual(['minor']);
      // Past the budget: the count starts again from the last collection, not from the first read.
      clock += 100;
      goal!.countTransient(1024 * 1024 - 1);
      expect(goal!.scavenges).toBe(1);
      goal!.countTransient(1);
      expect(goal!.scavenges).toBe(2);
    } finally {
      goal?.stop();
    }
  });

  it('starts no young-generation collection within ten times the last one took, however much is read', () => {
    let clock = 0;
    g.gc = () => {
      clock += 2;
    };
    const goal = startHeapGoal(1024 * 1024, { everyMs: 60_000, now: () => clock });
    try {
      goal!.countTransient(1024 * 1024);
      expect(goal!.scavenges).toBe(1);
      // It began at 0 and took 2 ms: none before 20 ms.
      clock = 19;
      goal!.countTransient(64 * 1024 * 1024);
      expect(goal!.scavenges).toBe(1);
      clock = 21;
      goal!.countTransient(1);
      expect(goal!.scavenges).toBe(2);
    } finally {
      goal?.stop();
    }
  });

  it("gives the allocator's free pages back at most once per trimEveryMs, and never within ten times the last trim took", async () => {
    g.gc = () => {};
    let clock = 0;
    const trims: number[] = [];
    // Each trim "takes" 300 ms of the clock: the budget then holds the next back for 3 s, past trimEveryMs.
    const goal = startHeapGoal(1024 * 1024 * 1024, {
      everyMs: 2,
      now: () => clock,
      trimEveryMs: 1000,
      trim: () => {
        trims.push(clock);
        clock += trims.length === 2 ? 300 : 0;
        return true;
      },
    });
    const ticks = async () => new Promise((r) => setTimeout(r, 30));
    try {
      await ticks();
      expect(trims).toEqual([0]);
      clock = 999;
      await ticks();
      expect(trims).toEqual([0]);
      clock = 1000;
      await ticks();
      expect(trims).toEqual([0, 1000]);
      // That one took 300 ms: none before 1000 + 3000.
      clock = 3999;
      await ticks();
      expect(trims).toHaveLength(2);
      clock = 4000;
      await ticks();
      expect(trims).toEqual([0, 1000, 4000]);
      expect(goal!.trims).toBe(3);
      expect(goal!.trimMs).toBe(300);
    } finally {
      goal?.stop();
    }
  });
});
