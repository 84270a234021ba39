/**
 * What guards the broker's queues keyed by ascending numbers (broker/offset-queue.ts): they
 * answer as a Map would for the ways the broker uses them (add at the back, take from the front,
 * look up and replace by key), and a group member's delivery tags still name the right batch
 * when they cycle past 2^32 - 1 back to 1.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OffsetQueue } from '../broker/offset-queue.js';
import type { StoredBatch } from '../broker/storage.js';
import { type DeliverySink, type MemberGroup, Subscription } from '../broker/subscription.js';

describe('OffsetQueue', () => {
  it('answers as a Map does for pushes at the back, shifts from the front, gets and sets', () => {
    type Op = { kind: 'push'; step: number } | { kind: 'shift' } | { kind: 'get'; pick: number } | { kind: 'set'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), step: fc.integer({ min: 1, max: 300 }) }),
      fc.record({ kind: fc.constant('shift' as const) }),
      fc.record({ kind: fc.constant('get' as const), pick: fc.integer({ min: -5, max: 2000 }) }),
      fc.record({ kind: fc.constant('set' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const queue = new OffsetQueue<string>(2);
        const model = new Map<number, string>();
        let next = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            next += o.step;
            queue.push(next, `v${next}`);
            model.set(next, `v${next}`);
          } else if (o.kind === 'shift') {
            const first = model.keys().next();
            expect(queue.firstKey()).toBe(first.done ? undefined : first.value);
            const value = queue.shift();
            if (!first.done) {
              expect(value).toBe(model.get(first.value));
              model.delete(first.value);
            } else expect(value).toBeUndefined();
          } else if (o.kind === 'get') {
            const key = o.pick % (next + 3);
            expect(queue.get(key)).toBe(model.get(key));
          } else if (model.size > 0) {
            const key = [...model.keys()][o.pick % model.size];
            expect(queue.set(key, 'changed')).toBe(true);
            model.set(key, 'changed');
          }
          expect(queue.size).toBe(model.size);
        }
        expect([...queue]).toEqual([...model.values()]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('OffsetQueue after a long backlog', () => {
  it('gives its memory back as it drains, and still answers by key', () => {
    const queue = new OffsetQueue<number>();
    for (let k = 0; k < 100_000; k++) queue.push(k * 3, k);
    const grown = (queue as unknown as { keys: Float64Array }).keys.length;
    for (let k = 0; k < 99_000; k++) expect(queue.shift()).toBe(k);
    expect((queue as unknown as { keys: Float64Array }).keys.length).toBeLessThan(grown / 16);
    expect(queue.size).toBe(1000);
    expect(queue.firstKey()).toBe(99_000 * 3);
    expect(queue.get(99_500 * 3)).toBe(99_500);
    expect(queue.get(99_500 * 3 + 1)).toBeUndefined();
    expect([...queue].length).toBe(1000);
  });
});

describe('a group member’s delivery tags', () => {
  it('name the right batch when they cycle past 2^32 - 1 back to 1, acknowledged in any order', () => {
    const tags: number[] = [];
    const sink: DeliverySink = { deliver: (_s, tag) => void tags.push(tag), ready: true };
    const acked: number[] = [];
    const group: MemberGroup = { join() {}, leave() {}, acknowledged: (b) => void acked.push(b.offset) };
    const member = new Subscription(1, 't', sink, 1000, 0, group);
    // Start three deliveries short of the end of the cycle.
    (member as unknown as { nextDelivery: number }).nextDelivery = 0xffffffff - 3;
    const batches: StoredBatch[] = Array.from({ length: 6 }, (_, i) => ({ offset: i, count: 1, records: new Uint8Array(8) }));
    for (const b of batches) member.send(b, false);
    expect(tags).toEqual([0xfffffffd, 0xfffffffe, 0xffffffff, 1, 2, 3]);
    expect(member.acknowledge(2, [1, 0xfffffffe])).toBeNull();
    // Repeated and never-sent tags change nothing.
    expect(member.acknowledge(0, [1, 4, 0, 0xfffffffc])).toBeNull();
    // The oldest still unacknowledged is the first delivery's.
    expect(member.oldestUnacknowledgedAt).toBeGreaterThan(0);
    expect(member.acknowledge(4, [0xfffffffd, 3, 0xffffffff, 2])).toBeNull();
    expect(acked).toEqual([3, 1, 0, 5, 2, 4]);
    // Every delivery acknowledged: nothing is old, before anything is taken.
    expect(member.oldestUnacknowledgedAt).toBe(0);
    expect(member.takePending()).toEqual([]);
  });
});
