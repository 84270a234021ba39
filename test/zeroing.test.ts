/**
 * The consumer's zeroing rule (sab-spsc/ring.ts ZERO_FROM_BYTES and ZERO_MAX_RECORD_BYTES, the
 * C++ ring's kZeroFromBytes and kZeroMaxRecordBytes): a drain of at least 1 KiB of records that
 * average at most 256 bytes is zeroed before it is given back; single messages and large records
 * are not. Zeroing changes no message, only where the cache lines sit, so nothing else would
 * notice the rule switched off, or on for every drain, until a scenario ran slower: this test
 * reads the ring's memory instead.
 */
import { describe, expect, it } from 'vitest';
import type { QueueBackend } from '../implementations/contract.js';
import { findBackend } from '../implementations/registry.js';
import { DATA_OFFSET } from '../implementations/sab-spsc/layout.js';
import type { RingDescriptor } from '../implementations/shared/ring/ring-backend.js';

const rings = ['sab-spsc', 'native'].map((id) => findBackend(id) as QueueBackend);

describe.each(rings)('$id: what a drain gives back', (backend) => {
  const available = backend.available?.().available ?? true;

  /** Writes `count` messages of `bytes` bytes (every byte 0xA5), drains them all, returns the bytes they took in the ring. */
  function writeAndDrain(count: number, bytes: number): Uint8Array {
    const d = backend.create({ capacityBytes: 1 << 16, producers: 1, consumers: 1, maxMessageBytes: 2048 }) as RingDescriptor;
    const producer = backend.producer(d, 0);
    const consumer = backend.consumer(d, 0);
    for (let i = 0; i < count; i++) expect(producer.tryWrite(new Uint8Array(bytes).fill(0xa5))).toBe(true);
    let seen = 0;
    while (seen < count) seen += consumer.drain(count, () => {});
    const used = count * ((bytes + 8 + 7) & ~7);
    const region = new Uint8Array(d.memory, DATA_OFFSET, used).slice();
    producer.close();
    consumer.close();
    backend.destroy?.(d);
    return region;
  }
  const zeroed = (region: Uint8Array) => region.every((b) => b === 0);

  it.runIf(available)('zeroes a drain of small records (16 × 136 B)', () => {
    expect(zeroed(writeAndDrain(16, 128))).toBe(true);
  });

  it.runIf(available)('leaves a single message, and a drain of large records (4 × 1096 B), as they were', () => {
    expect(zeroed(writeAndDrain(1, 128))).toBe(false);
    expect(zeroed(writeAndDrain(4, 1088))).toBe(false);
  });
});
