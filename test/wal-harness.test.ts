/**
 * The `wal` backend through the harness, and the durability axis: every policy runs with
 * verified delivery, the ones that sync say so in their counters, in-memory queues are skipped
 * for batch and always with the reason, the result carries the disk's own figures and reads
 * back, and every log directory the trials made is gone afterwards.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResultFile } from '../harness/results/read-result.js';
import type { ResultFile } from '../harness/results/types.js';
import { tempDir } from './support/cli.js';
import { runScenarioText } from './support/scenarios.js';

describe('wal through the harness, durability none / batch / always', () => {
  let result: ResultFile;
  let walDir: string;
  const before = process.env.NANOMQ_WAL_DIR;
  beforeAll(async () => {
    walDir = tempDir('wal-parent');
    process.env.NANOMQ_WAL_DIR = walDir;
    const text = `name: durable-test
duration: 400ms
warmup: 200ms
verify: crc
matrix:
  backend: [wal, sab-spsc]
  payload: [64]
  batch: [1, 64]
  wait: [block]
  durability: [none, batch, always]
workloads:
  - kind: throughput
  - kind: rate
    rate: 5k
`;
    result = await runScenarioText(text, 'durable-test.yaml');
  }, 120_000);
  afterAll(() => {
    if (before === undefined) delete process.env.NANOMQ_WAL_DIR;
    else process.env.NANOMQ_WAL_DIR = before;
    rmSync(walDir, { recursive: true, force: true });
  });

  it('runs every policy with every message verified; batch and always fdatasync, none does not', () => {
    const wal = result.cases.filter((c) => c.backend === 'wal');
    expect(wal).toHaveLength(12);
    for (const c of wal) {
      expect(c.status, `${c.id}: ${c.reason}`).toBe('ok');
      expect(c.summary!.correctness, c.id).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, corrupt: 0 });
      const fsyncs = c.summary!.backendCounters?.fsyncs ?? 0;
      if (c.params.durability === undefined) expect(fsyncs, c.id).toBe(0);
      else expect(fsyncs, c.id).toBeGreaterThan(0);
    }
    expect(wal.map((c) => c.id)).toContain('wal/rate/payload=64/producers=1/batch=1/wait=block/durability=always/rate=5.00k');
  });

  it('skips in-memory queues for batch and always, with the reason, and runs them for none', () => {
    const spsc = result.cases.filter((c) => c.backend === 'sab-spsc');
    expect(spsc.filter((c) => c.status === 'ok').every((c) => c.params.durability === undefined)).toBe(true);
    const skipped = spsc.filter((c) => c.status === 'skipped');
    expect(skipped).toHaveLength(8);
    for (const c of skipped) expect(c.reason).toMatch(/keeps messages in memory only: durability (batch|always) needs a backend that writes them to disk/);
  });

  it('records the disk under the logs, and the result file reads back', () => {
    const disk = result.environment.diskSync!;
    expect(disk.dir).toBe(walDir);
    expect(disk.fdatasyncNs.p50).toBeGreaterThan(0);
    expect(disk.fdatasyncNs.max).toBeGreaterThanOrEqual(disk.fdatasyncNs.p99);
    expect(disk.sequentialWriteBytesPerSec).toBeGreaterThan(disk.sequentialSyncedBytesPerSec * 0.5);
    const path = join(walDir, 'result.json');
    writeFileSync(path, JSON.stringify(result));
    expect(readResultFile(path).environment.diskSync?.samples).toBe(200);
    rmSync(path);
  });

  it('leaves no log directory behind', () => {
    expect(readdirSync(walDir)).toEqual([]);
  });
});
