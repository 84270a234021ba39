/**
 * mpsc-cas's shared head cache: a stale cache must never let a producer claim past capacity.
 * Positions are 32-bit counters, so a cache more than 2^31 bytes behind the tail makes
 * `(tail - head) | 0` negative, which reads as "more than the whole ring is free".
 */
import { describe, expect, it } from 'vitest';
import { mpscCas } from '../implementations/mpsc-cas/backend.js';
import { HEAD, HEAD_CACHE, META_CAPACITY, TAIL } from '../implementations/mpsc-cas/layout.js';
import { ringRecordBytes } from '../implementations/shared/ring/records.js';
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
    const fits = Math.floor(capacity / ringRecordBytes(message.length));
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
  });

  /** A producer offering the cache a HEAD it read earlier (as one preempted after the read would). */
  const offer = (producer: unknown, headRead: number): boolean => (producer as { offerHead(h: number): boolean }).offerHead(headRead | 0);

  it.each([
    ['2^31 + 8 bytes old', 2 ** 31 + 8],
    ['2^31 + 64 KiB old', 2 ** 31 + 64 * 1024],
    ['2^32 - 1 KiB old (it would sit 1 KiB ahead of the head)', 2 ** 32 - 1024],
  ])('a producer whose HEAD read is %s never stores it in the cache, and claims stay within capacity', (_label, age) => {
    const { words, producer, consumer } = ringAt(2 ** 31 - 4096, 2 ** 31 - 4096);
    const message = encode({ producerId: 0, sequence: 0 }, new Uint8Array(200));
    const capacity = words[META_CAPACITY];
    // Some records in the ring, so a cache a little ahead of HEAD would look like free space.
    for (let i = 0; i < 40; i++) expect(producer.tryWrite(message)).toBe(true);
    const head = Atomics.load(words, HEAD);
    const cache = Atomics.load(words, HEAD_CACHE);
    expect(offer(producer, head - age)).toBe(false);
    expect(Atomics.load(words, HEAD_CACHE), 'the cache after an ancient HEAD was offered').toBe(cache);
    let bounded = 0;
    while (producer.tryWrite(message) && ++bounded < 10_000);
    expect(((Atomics.load(words, TAIL) - Atomics.load(words, HEAD)) | 0) >>> 0).toBeLessThanOrEqual(capacity);
    while (consumer.drain(1024, () => {}) > 0);
  });

  it('never stores a HEAD older than the cache another producer refreshed since', () => {
    const { words, producer } = ringAt(0, 0);
    const message = encode({ producerId: 0, sequence: 0 }, new Uint8Array(200));
    for (let i = 0; i < 40; i++) producer.tryWrite(message);
    const tail = Atomics.load(words, TAIL);
    // This producer read HEAD at tail − 4000; another has since put tail − 2000 in the cache
    // (the consumer is at tail − 1000).
    Atomics.store(words, HEAD, (tail - 1000) | 0);
    Atomics.store(words, HEAD_CACHE, (tail - 2000) | 0);
    expect(offer(producer, tail - 4000)).toBe(false);
    expect(Atomics.load(words, HEAD_CACHE)).toBe((tail - 2000) | 0);
  });

  it('replaces a cache that is not a head of this lap with one that is', () => {
    const { words, producer } = ringAt(4096, 4096 - 2 ** 31 - 1024);
    const head = Atomics.load(words, HEAD);
    expect(offer(producer, head)).toBe(true);
    expect(Atomics.load(words, HEAD_CACHE)).toBe(head);
  });
});

describe('mpsc-cas consumer back-off', () => {
  // The back-off reads TAIL 32 times and keeps a figure of them so the loop is not optimised
  // away. As a sum, 32 tails past 64 MiB overflowed int32: backOff deoptimised ("overflow") and
  // the double it stored in `sink` changed the consumer's field representation, so drain and
  // drainLoop deoptimised too ("wrong map"), seen inside a measured window.
  it.each([
    ['past 64 MiB', 2 ** 26 + 4096],
    ['near 2^31', 2 ** 31 - 8192],
    ['past 2^31 (negative as int32)', 2 ** 31 + 4096],
  ])('keeps its sink a small integer with the tail %s', (_label, start) => {
    const { producer, consumer } = ringAt(start, start);
    expect(producer.claim(1, 64)).toBe(1);
    // Claimed, not committed: the consumer backs off instead of polling the record.
    expect(consumer.drain(1, () => {})).toBe(0);
    expect(consumer.counters().uncommittedBackOffs).toBe(1);
    const { sink } = consumer as unknown as { sink: number };
    expect(Number.isInteger(sink) && sink >= 0 && sink < 2 ** 30, `sink ${sink}`).toBe(true);
    producer.commit();
    expect(consumer.drain(1, () => {})).toBe(1);
  });
});
