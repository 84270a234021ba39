/**
 * The disk under the write-ahead log, measured before a suite with durable cases, so each
 * durability policy's figures sit beside what the disk itself allows:
 *   - fdatasync latency: 4 KiB appended, then fdatasync, `samples` times (what `always` pays per
 *     batch, and `batch` per group);
 *   - sequential writes: 256 MiB in 1 MiB writes to the page cache, then one fdatasync, as
 *     `dd bs=1M conv=fdatasync` does (the ceiling for `none` and `batch` at 64 KiB payloads).
 * In the directory the `wal` backend uses (NANOMQ_WAL_DIR, default the OS temporary directory),
 * in a file of its own, deleted after. A virtual disk may acknowledge an fdatasync before the
 * data is on stable storage; nothing here can tell, and the report says so.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantile } from '../metrics/stats.js';
import type { DiskSync } from '../results/types.js';

export function measureDiskSync(samples = 200, sequentialMiB = 256): DiskSync | undefined {
  const parent = process.env.NANOMQ_WAL_DIR ?? tmpdir();
  let dir: string | undefined;
  try {
    dir = mkdtempSync(join(parent, 'nanomq-disk-probe-'));
    const fd = openSync(join(dir, 'probe'), 'w');
    try {
      const small = new Uint8Array(4096).fill(1);
      const latencies: number[] = new Array(samples);
      for (let i = 0; i < samples; i++) {
        writeSync(fd, small);
        const t0 = performance.now();
        fdatasyncSync(fd);
        latencies[i] = (performance.now() - t0) * 1e6;
      }
      const big = new Uint8Array(1 << 20).fill(2);
      const t0 = performance.now();
      for (let i = 0; i < sequentialMiB; i++) writeSync(fd, big);
      const written = performance.now();
      fdatasyncSync(fd);
      const synced = performance.now();
      const bytes = sequentialMiB * (1 << 20);
      return {
        dir: parent,
        samples,
        fdatasyncNs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: Math.max(...latencies) },
        sequentialWriteBytesPerSec: bytes / ((written - t0) / 1e3),
        sequentialSyncedBytesPerSec: bytes / ((synced - t0) / 1e3),
        method: `fdatasync after each 4 KiB append (${samples} times); ${sequentialMiB} MiB in 1 MiB writes, then one fdatasync (as dd bs=1M conv=fdatasync), in ${parent}`,
      };
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}
