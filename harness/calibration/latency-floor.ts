/**
 * The latency floor: what the machine and Node's threads allow before any queue or harness code
 * is involved. A bare SharedArrayBuffer ring, one paced producer thread and one spinning
 * consumer thread, the main thread asleep, allocation-free timestamps and a preallocated bucket
 * histogram: each rate case's tail is reported beside this probe's, measured in the same run
 * at the scenario's highest rate, so a reader can tell the harness's and queue's share of a tail
 * from the machine's.
 *
 *   ring (SharedArrayBuffer, Float64 slots)
 *   word 0 (Int32)  TAIL: slots published by the producer
 *   word 16         HEAD: slots consumed
 *   word 32         STOP
 *   byte 256…       SLOTS Float64 intended send times, SLOT_COUNT of them, a ring
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../../implementations/package-root.js';
import { BUCKETS, bucketValue, percentileOf } from '../metrics/log-buckets.js';
import type { LatencyFloor } from '../results/types.js';

export const TAIL = 0;
export const HEAD = 16;
export const STOP = 32;
export const SLOTS_OFFSET = 256;
export const SLOT_COUNT = 4096;
/** Runs the probe for `durationMs` at `ratePerSec` (after a short warm-up). */
export async function measureLatencyFloor(ratePerSec: number, durationMs = 1000, warmupMs = 300): Promise<LatencyFloor | undefined> {
  const ring = new SharedArrayBuffer(SLOTS_OFFSET + SLOT_COUNT * 8);
  const counts = new SharedArrayBuffer(BUCKETS * 8);
  const entry = join(packageRoot(), 'dist', 'harness', 'calibration', 'latency-floor-worker.js');
  const start = (role: 'producer' | 'consumer') =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(entry, { workerData: { role, ring, counts, ratePerSec, durationMs, warmupMs } });
      w.once('error', reject);
      w.once('exit', () => resolve());
    });
  try {
    await Promise.all([start('consumer'), start('producer')]);
  } catch {
    return undefined;
  }
  const c = new Float64Array(counts);
  let total = 0;
  let max = 0;
  for (let i = 0; i < c.length; i++) {
    total += c[i];
    if (c[i] > 0) max = bucketValue(i);
  }
  if (total === 0) return undefined;
  return {
    ratePerSec,
    durationMs,
    samples: total,
    p50: percentileOf(c, total, 0.5),
    p99: percentileOf(c, total, 0.99),
    p999: percentileOf(c, total, 0.999),
    max,
    method: `bare SharedArrayBuffer ring, one message every ${(1e9 / ratePerSec).toFixed(0)} ns from a paced producer thread to a spinning consumer thread, latency from the intended send time`,
  };
}
