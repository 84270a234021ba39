/**
 * The log's CRC32 (wal/crc.ts) takes @node-rs/crc32 for long buffers and zlib's for short ones:
 * the two must agree on every byte and seed, or a log written by one build is refused as damaged
 * by another (NANOMQ_ZLIB_CRC=1, or a platform without the binary).
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, crcImplementation, NATIVE_CRC_FROM_BYTES } from '../wal/crc.js';

describe("the log's CRC32", () => {
  it('uses the native CRC on this platform (the figures in docs/wal.md assume it)', () => {
    expect(crcImplementation).toBe('native');
  });

  it("equals zlib's for any bytes and seed, on both sides of the threshold, on any view", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * NATIVE_CRC_FROM_BYTES }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.boolean(),
        (length, offset, seed, shared) => {
          const memory = shared ? new SharedArrayBuffer(length + offset) : new ArrayBuffer(length + offset);
          const bytes = new Uint8Array(memory, offset, length);
          for (let i = 0; i < length; i++) bytes[i] = (i * 131 + seed) & 0xff;
          expect(crc32(bytes, seed)).toBe(zlibCrc32(bytes, seed));
        },
      ),
      { numRuns: 300 },
    );
  });
});
