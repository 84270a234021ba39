/**
 * Where the host put this machine's cores, measured before every trial: two threads hand one
 * word back and forth, and the time a round trip takes is the time a cache line takes to cross
 * from one core to the other and back.
 *
 * On the 2-core VMs this project runs on, that is about 130 ns for minutes at a time (the two
 * vCPUs on nearby physical cores), then about 350 ns for minutes (far apart), and every figure
 * that moves cache lines between threads swings with it, by up to 3× (docs/method.md). A figure
 * without its placement beside it cannot be compared with another; so every trial records one
 * (`trials[].coreRoundTripNs`), the run warns when they differ, and `compare` says when the two
 * sides ran on differently placed cores.
 *
 *   control (SharedArrayBuffer, Int32)
 *   word 0  TURN   round trips so far × 2, + 1 while the reply is due: each side waits for its parity
 *   word 1  READY  threads started (the clock starts when both run)
 *   word 2  STOP   set by the timing side when it is done, so the other never waits forever
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../../implementations/package-root.js';

export const TURN = 0;
export const READY = 1;
export const STOP = 2;

/**
 * Round trips timed, in BATCHES batches of BATCH_ROUND_TRIPS, after WARMUP_ROUND_TRIPS untimed
 * ones (so both loops run compiled): ~4 ms in all on near cores, ~10 ms on far. The result is
 * the median batch: a mean would carry any preemption of either thread in full (one 3 ms gap,
 * which this machine's scheduler takes now and then, would double it).
 */
export const BATCHES = 15;
export const BATCH_ROUND_TRIPS = 1_000;
export const WARMUP_ROUND_TRIPS = 10_000;
/** The timing side gives up past this (a machine whose two threads share one core). */
export const DEADLINE_MS = 200;

/** Two placements count as different when their round trips differ by at least this factor. */
export const PLACEMENT_RATIO = 1.5;

export interface CoreRoundTripTask {
  control: SharedArrayBuffer;
  side: 0 | 1;
}

/** Nanoseconds per core-to-core round trip; undefined on one core or when the probe cannot run. */
export async function measureCoreRoundTrip(): Promise<number | undefined> {
  if (cpus().length < 2) return undefined;
  const control = new SharedArrayBuffer(16);
  const entry = join(packageRoot(), 'dist', 'harness', 'calibration', 'core-round-trip-worker.js');
  const workers: Worker[] = [];
  const side = (n: 0 | 1) =>
    new Promise<number | undefined>((resolve, reject) => {
      const task: CoreRoundTripTask = { control, side: n };
      const w = new Worker(entry, { workerData: task });
      workers.push(w);
      w.once('message', resolve);
      w.once('error', reject);
    });
  try {
    const [timed] = await Promise.all([side(0), side(1)]);
    return timed;
  } catch {
    return undefined;
  } finally {
    // Should one side fail to start, the other must not spin on for ever.
    Atomics.store(new Int32Array(control), STOP, 1);
    await Promise.all(workers.map((w) => w.terminate().catch(() => 0)));
  }
}

/** Whether two core round trips (ns) say the cores were placed differently: PLACEMENT_RATIO or more apart. */
export function placedApart(aNs: number, bNs: number): boolean {
  return Math.max(aNs, bNs) / Math.min(aNs, bNs) >= PLACEMENT_RATIO;
}

/** The spread of a run's placements: its fastest and slowest round trip, when they are placed apart. */
export function placementSpread(roundTripsNs: readonly (number | undefined)[]): [number, number] | undefined {
  const known = roundTripsNs.filter((x): x is number => x !== undefined && Number.isFinite(x) && x > 0);
  if (known.length < 2) return undefined;
  const low = Math.min(...known);
  const high = Math.max(...known);
  return placedApart(low, high) ? [low, high] : undefined;
}
