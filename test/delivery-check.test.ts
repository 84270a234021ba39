/** The delivery check must see every kind of delivery error, or no benchmark can be trusted. */
import { describe, expect, it } from 'vitest';
import { DeliveryCheck } from '../harness/worker/delivery-check.js';
import { EnvelopeCodec, encode, HEADER_BYTES } from '../wire/envelope.js';

function feed(check: DeliveryCheck, messages: Uint8Array[]): void {
  for (const m of messages) check.check(m, 0, m.length);
}

function message(producerId: number, sequence: number, payload = 8): Uint8Array {
  const p = new Uint8Array(payload);
  const bytes = encode({ producerId, sequence }, p);
  if (payload >= 4) new EnvelopeCodec(bytes).stampSequence(0, sequence);
  // Re-encode so the CRC covers the stamped payload.
  return encode({ producerId, sequence }, bytes.subarray(HEADER_BYTES));
}

describe('delivery check', () => {
  it('passes an in-order stream from several producers', () => {
    const check = new DeliveryCheck(2, true);
    feed(check, [message(0, 0), message(1, 0), message(0, 1), message(1, 1), message(1, 2)]);
    expect(check.counts()).toEqual({ received: 5, duplicated: 0, reordered: 0, corrupt: 0 });
    expect(check.unique).toBe(5);
  });

  it('counts a duplicate', () => {
    const check = new DeliveryCheck(1, true);
    feed(check, [message(0, 0), message(0, 1), message(0, 1), message(0, 2)]);
    expect(check.duplicated).toBe(1);
    expect(check.unique).toBe(3);
  });

  it('counts a late arrival as reordered, not duplicated', () => {
    const check = new DeliveryCheck(1, true);
    feed(check, [message(0, 0), message(0, 2), message(0, 1), message(0, 3)]);
    expect(check.counts()).toMatchObject({ reordered: 1, duplicated: 0 });
    expect(check.unique).toBe(4);
  });

  it('leaves a gap as lost (unique below sent)', () => {
    const check = new DeliveryCheck(1, true);
    feed(check, [message(0, 0), message(0, 1), message(0, 3)]);
    expect(check.unique).toBe(3);
    expect(check.problems[0]).toMatch(/expected seq 2, got 3/);
  });

  it('catches a flipped payload bit through the CRC', () => {
    const check = new DeliveryCheck(1, true);
    const m = message(0, 0, 100);
    m[HEADER_BYTES + 50] ^= 1;
    feed(check, [m]);
    expect(check.corrupt).toBe(1);
  });

  it('catches a stale payload by its stamped sequence even without CRC', () => {
    const check = new DeliveryCheck(1, false);
    const m = message(0, 5, 100);
    new EnvelopeCodec(m).stampSequence(0, 4);
    feed(check, [message(0, 0), message(0, 1), message(0, 2), message(0, 3), message(0, 4), m]);
    expect(check.corrupt).toBe(1);
  });

  it('catches bad magic, an unknown producer and a wrong length', () => {
    const check = new DeliveryCheck(1, true);
    const bad = message(0, 0);
    bad[0] ^= 0xff;
    feed(check, [bad, message(7, 0)]);
    const short = message(0, 0);
    check.check(short, 0, short.length - 1);
    expect(check.corrupt).toBe(3);
  });
});
