/**
 * Property test: random sequences of single-thread operations on every backend, checked against
 * the simplest possible model (an array). Whatever the interleaving of writes, batch claims,
 * partial drains and reads, the queue must hand back exactly what went in, in order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backends } from '../implementations/registry.js';
import { decode, encode, HEADER_BYTES } from '../wire/envelope.js';

type Op = { kind: 'write'; size: number } | { kind: 'batch'; count: number; size: number; commit: boolean } | { kind: 'drain'; max: number } | { kind: 'read' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), size: fc.integer({ min: 0, max: 900 }) }),
  fc.record({ kind: fc.constant('batch' as const), count: fc.integer({ min: 1, max: 20 }), size: fc.integer({ min: 0, max: 300 }), commit: fc.constant(true) }),
  fc.record({ kind: fc.constant('drain' as const), max: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('read' as const) }),
);

function payload(seq: number, size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (seq * 31 + i) & 0xff);
}

// Self-driven backends (native-threads) have no JavaScript side to attach, and null carries no
// bytes: the harness tests both end to end.
const testable = backends.filter((b) => b.available().available && !b.traits.selfDriven && b.traits.carriesBytes !== false);

describe.each(testable.map((b) => [b.id, b] as const))('model: %s', (_id, backend) => {
  it('behaves like a FIFO array under any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
        const d = backend.create({ capacityBytes: 4096, producers: 1, consumers: 1, maxMessageBytes: HEADER_BYTES + 1024 });
        const producer = backend.producer(backend.select?.(d, 'producer', 0) ?? d, 0);
        const consumer = backend.consumer(backend.select?.(d, 'consumer', 0) ?? d, 0);
        const model: number[] = [];
        let seq = 0;
        const take = (bytes: Uint8Array, offset: number, length: number) => {
          const { header, payload: got } = decode(bytes, offset, length);
          expect(header.sequence).toBe(model.shift());
          expect(Buffer.from(got).equals(Buffer.from(payload(header.sequence, got.length)))).toBe(true);
        };
        try {
          for (const o of ops) {
            if (o.kind === 'write') {
              const ok = producer.tryWrite(encode({ producerId: 0, sequence: seq }, payload(seq, o.size)));
              if (ok) model.push(seq++);
              else expect(model.length).toBeGreaterThan(0); // only a non-empty queue may be full
            } else if (o.kind === 'batch') {
              const n = producer.claim(o.count, HEADER_BYTES + o.size);
              expect(n).toBeLessThanOrEqual(o.count);
              if (n === 0) expect(model.length).toBeGreaterThan(0);
              for (let i = 0; i < n; i++) producer.buffer.set(encode({ producerId: 0, sequence: seq + i }, payload(seq + i, o.size)), producer.offsetOf(i));
              producer.commit();
              for (let i = 0; i < n; i++) model.push(seq++);
            } else if (o.kind === 'drain') {
              const before = model.length;
              const got = consumer.drain(o.max, take);
              expect(got).toBe(Math.min(o.max, before));
            } else {
              const scratch = new Uint8Array(HEADER_BYTES + 1024);
              const length = consumer.tryRead(scratch);
              if (model.length === 0) expect(length).toBe(-1);
              else take(scratch, 0, length);
            }
          }
          while (consumer.drain(1000, take) > 0);
          expect(model).toEqual([]);
        } finally {
          producer.close();
          consumer.close();
          backend.destroy?.(d);
        }
      }),
      { numRuns: 150, seed: 20261127 },
    );
  });
});
