/**
 * mpsc-cas's shared head cache: a stale cache must never let a producer claim past capacity.
 * Positions are 32-bit counters, so a cache more than 2^31 bytes behind the tail makes
 * `(tail - head) | 0` negative, which reads as "more than the whole ring is free".
 */
import { describe, expect, it } from 'vitest';
import { mpscCas } from '../implementations/mpsc-cas/backend.js';
import { HEAD, HEAD_CACHE, META_CAPACITY, TAIL } from '../implementations/mpsc-cas/ring.js';
import { recordBytes } from '../implementations/shared/records.js';
import { decode, encode, MAX_ENVELOPE_BYTES } from '../wire/envelope.js';

const CAPACITY = 64 * 1024;

function ringAt(start: number, cache: number) {
  const d = mpscCas.create({ capacityBytes: CAPACITY, producers: 1, consumers: 1, maxMessageBytes: MAX_ENVELOPE_BYTES, startPosition: start | 0 });
  const words = new Int32Array((d as unknown as { memory: SharedArrayBuffer }).memory);
  // As a producer preempted with an old HEAD in hand would leave it (test-only set-up).
  words[HEAD_CACHE] = cache | 0;
  return { words, producer: mpscCas.producer(d, 0), consumer: mpscCas.consumer(d, 0) };
}

describe('mpsc-cas head cache', () => {
  it.each([
    ['2^31 + 1 KiB behind, at position 0', 0, 0 - 2 ** 31 - 1024],
    ['2^31 + 8 behind, across the 2^31 edge', 2 ** 31 + 4096, 4096 - 8],
    ['3 GiB behind, across the 2^32 edge', 2 ** 32 - 512, 2 ** 32 - 512 - 3 * 2 ** 30],
  ])('never claims past capacity with a cache %s', (_label, start, cache) => {
    const { words, producer, consumer } = ringAt(start, cache);
    const message = encode({ producerId: 0, sequence: 0 }, new Uint8Array(200));
    const capacity = words[META_CAPACITY];
    const fits = Math.floor(capacity / recordBytes(message.length));
    let written = 0;
    // Bounded: a broken ring would accept messages forever, overwriting its own records.
    while (written < 4 * fits && producer.tryWrite(encode({ producerId: 0, sequence: written }, new Uint8Array(200)))) written++;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThanOrEqual(fits);
    expect(((Atomics.load(words, TAIL) - Atomics.load(words, HEAD)) | 0) >>> 0).toBeLessThanOrEqual(capacity);
    const seqs: number[] = [];
    while (consumer.drain(1024, (b, o, l) => seqs.push(decode(b, o, l).header.sequence)) > 0);
    expect(seqs).toEqual(Array.from({ length: written }, (_, i) => i));
  });

  it('moves the cache forward only, never back to an older head', () => {
    const { words, producer, consumer } = ringAt(0, 0);
    const message = encode({ producerId: 0, sequence: 0 }, new Uint8Array(200));
    let bounded = 0;
    while (producer.tryWrite(message) && ++bounded < 10_000);
    while (consumer.drain(1024, () => {}) > 0);
    // Full, then emptied: the next claim finds the cache short and refreshes it from HEAD.
    while (producer.tryWrite(message) && ++bounded < 20_000);
    const head = Atomics.load(words, HEAD);
    expect(Atomics.load(words, HEAD_CACHE)).toBe(head);
    // Another producer already moved the cache further than this one's HEAD read: a claim that
    // reads HEAD (the cache now looks "ahead of the tail") must not store the older value.
    while (consumer.drain(1024, () => {}) > 0);
    const ahead = (Atomics.load(words, TAIL) + 64) | 0;
    Atomics.store(words, HEAD_CACHE, ahead);
    expect(producer.tryWrite(message)).toBe(true);
    expect(Atomics.load(words, HEAD_CACHE)).toBe(ahead);
  });
});
