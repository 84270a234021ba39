/**
 * The shared half of the network consumers' contract for a visitor that throws
 * (implementations/shared/network/guarded-visitor.ts); test/network.test.ts checks each backend's half
 * (stop receiving, leave the message unacknowledged) against its real server.
 */
import { describe, expect, it } from 'vitest';
import { GuardedVisitor } from '../implementations/shared/network/guarded-visitor.js';

describe('a guarded visitor', () => {
  it('hands nothing after the first throw, and reports that throw once, on a later turn of the event loop', async () => {
    const guard = new GuardedVisitor();
    const seen: number[] = [];
    const errors: unknown[] = [];
    const thrown = new Error('visit failed');
    guard.start(
      (_bytes, offset) => {
        seen.push(offset);
        if (offset === 2) throw thrown;
      },
      (error) => errors.push(error),
    );
    const bytes = new Uint8Array(8);
    const outcomes = [0, 1, 2, 3, 4].map((offset) => guard.visit(bytes, offset, 1));
    expect(outcomes).toEqual([true, true, false, false, false]);
    expect(seen).toEqual([0, 1, 2]);
    expect(guard.stopped).toBe(true);
    // Not from inside the client's receive path: the report comes later.
    expect(errors).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([thrown]);
  });
});
