/**
 * CRC32 (IEEE, zlib's polynomial and seeding) for the log's records: @node-rs/crc32 where its
 * prebuilt binary loads, zlib's otherwise. Both give the same value for the same bytes and seed
 * (test/wal-crc.test.ts), so a log written with one is read with the other.
 *
 * Why not zlib alone: every appended byte is CRC'd once by the writer and once by each reader,
 * and at 64 KiB messages that is where the appending thread's time went. On the 2-core
 * development VM (AMD EPYC, Node 20.20.2), over a 1 MiB buffer: zlib.crc32 4.6–5.0 GB/s,
 * @node-rs/crc32 (carry-less multiply, crc32fast) 13.5 GB/s. For a few hundred bytes the call
 * costs the same (0.14 against 0.16 µs), so short records keep zlib's, which needs no binding.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';

type Crc32 = (bytes: Uint8Array, seed: number) => number;

/** From this many bytes the native CRC is used, when it loaded (below, the call costs more than the CRC). */
export const NATIVE_CRC_FROM_BYTES = 4096;

async function loadNative(): Promise<Crc32 | null> {
  if (process.env.NANOMQ_ZLIB_CRC === '1') return null;
  try {
    const { crc32: nativeCrc32 } = await import('@node-rs/crc32');
    // The binding takes a Buffer or any Uint8Array; check once that it agrees with zlib, on a
    // view long enough to take the path long records take (carry-less multiply) and not 8-aligned.
    const probe = new Uint8Array(3 * NATIVE_CRC_FROM_BYTES + 3).subarray(3);
    for (let i = 0; i < probe.length; i++) probe[i] = (i * 131 + 7) & 0xff;
    if (nativeCrc32(probe as Buffer, 0x9e3779b1) !== zlibCrc32(probe, 0x9e3779b1)) return null;
    return (bytes, seed) => nativeCrc32(bytes as Buffer, seed);
  } catch {
    // No binary for this platform (its optional package did not install): zlib's is correct, only slower.
    return null;
  }
}

// Top-level await: the module is ready, with the implementation chosen, once its import resolves.
const native = await loadNative();

/** Which implementation long buffers go to: 'native' (@node-rs/crc32) or 'zlib'. */
export const crcImplementation: 'native' | 'zlib' = native === null ? 'zlib' : 'native';

/** CRC32 of `bytes`, continuing from `seed` (zlib's `crc32(bytes, seed)`). */
export function crc32(bytes: Uint8Array, seed: number): number {
  return native !== null && bytes.length >= NATIVE_CRC_FROM_BYTES ? native(bytes, seed) : zlibCrc32(bytes, seed);
}
