/**
 * A write-ahead log's bandwidth beside the disk under it (environment.diskSync, measured before
 * the suite where the logs go): `none` against the rate the disk takes writes into the page
 * cache, `batch` and `always` against its synced sequential rate. Only the `wal` backend writes
 * its logs there (NANOMQ_WAL_DIR), and only its one-producer throughput cases move bytes as
 * fast as they can, so only those are set beside the disk.
 */
import type { CaseResult, DiskSync } from './types.js';

export interface DiskShare {
  /** The case's bytes per second. */
  readonly bytesPerSec: number;
  /** The disk's rate it is held against. */
  readonly diskBytesPerSec: number;
  /** 'page cache' (durability none) or 'synced' (batch, always). */
  readonly against: 'page cache' | 'synced';
  readonly fraction: number;
}

export function diskShareFor(c: CaseResult, disk: DiskSync | undefined): DiskShare | undefined {
  const bytesPerSec = c.summary?.bytesPerSec;
  if (disk === undefined || bytesPerSec === undefined || c.status !== 'ok' || c.backend !== 'wal' || c.workload !== 'throughput') return undefined;
  const synced = (c.params.durability ?? 'none') !== 'none';
  const diskBytesPerSec = synced ? disk.sequentialSyncedBytesPerSec : disk.sequentialWriteBytesPerSec;
  if (!(diskBytesPerSec > 0)) return undefined;
  return { bytesPerSec, diskBytesPerSec, against: synced ? 'synced' : 'page cache', fraction: bytesPerSec / diskBytesPerSec };
}

/** Decimal gigabytes a second, as disks and the docs quote them. */
function gbPerSec(bytesPerSec: number): string {
  return `${(bytesPerSec / 1e9).toFixed(2)} GB/s`;
}

export function diskShareNote(share: DiskShare): string {
  return `${gbPerSec(share.bytesPerSec)}, ${Math.round(share.fraction * 100)}% of the disk's ${share.against} sequential rate (${gbPerSec(share.diskBytesPerSec)}, environment.diskSync)`;
}
