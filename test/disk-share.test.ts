/**
 * The wal's bandwidth beside the disk under it (harness/results/disk-share.ts): `none` against
 * the page-cache rate, `batch` and `always` against the synced rate; only wal throughput cases
 * that ran, and only when the run measured the disk.
 */
import { describe, expect, it } from 'vitest';
import { summaryTable } from '../harness/cli/summary-table.js';
import { diskShareFor, diskShareNote } from '../harness/results/disk-share.js';
import type { CaseResult, DiskSync, ResultFile } from '../harness/results/types.js';

const disk: DiskSync = {
  dir: '/tmp',
  samples: 200,
  fdatasyncNs: { p50: 190_000, p99: 280_000, max: 760_000 },
  sequentialWriteBytesPerSec: 4e9,
  sequentialSyncedBytesPerSec: 1.25e9,
  method: 'test',
} as DiskSync;

function walCase(change: { durability?: string; backend?: string; workload?: string; status?: CaseResult['status'] } = {}): CaseResult {
  const durability = change.durability === undefined ? {} : { durability: change.durability };
  return {
    id: `${change.backend ?? 'wal'}/throughput/payload=65536/producers=1/batch=16/wait=block${change.durability ? `/durability=${change.durability}` : ''}`,
    backend: change.backend ?? 'wal',
    workload: change.workload ?? 'throughput',
    params: { payload: 65536, producers: 1, batch: 16, wait: 'block', ...durability },
    oversubscribed: false,
    status: change.status ?? 'ok',
    trials: [],
    summary: { trials: 3, msgsPerSec: 15_000, bytesPerSec: 1e9 },
  } as unknown as CaseResult;
}

describe('the wal beside its disk', () => {
  it('holds none against the page-cache rate and batch against the synced rate', () => {
    expect(diskShareFor(walCase(), disk)).toMatchObject({ against: 'page cache', fraction: 0.25 });
    expect(diskShareFor(walCase({ durability: 'batch' }), disk)).toMatchObject({ against: 'synced', fraction: 0.8 });
    expect(diskShareNote(diskShareFor(walCase({ durability: 'always' }), disk)!)).toBe(
      "1.00 GB/s, 80% of the disk's synced sequential rate (1.25 GB/s, environment.diskSync)",
    );
  });

  it('holds nothing else: another backend, workload, a failed case, no disk measured', () => {
    for (const c of [walCase({ backend: 'broker', durability: 'batch' }), walCase({ workload: 'rate' }), walCase({ status: 'failed' })])
      expect(diskShareFor(c, disk), c.id).toBeUndefined();
    expect(diskShareFor(walCase(), undefined)).toBeUndefined();
  });

  it('is printed below run’s table', () => {
    const result = {
      scenario: { name: 's' },
      environment: { warnings: [], diskSync: disk },
      cases: [walCase({ durability: 'batch' })],
    } as unknown as ResultFile;
    expect(summaryTable(result, true)).toContain(
      "wal/throughput/payload=65536/producers=1/batch=16/wait=block/durability=batch: 1.00 GB/s, 80% of the disk's synced sequential rate",
    );
  });
});
