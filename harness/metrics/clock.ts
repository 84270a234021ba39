/**
 * The one clock every thread of the process shares: CLOCK_MONOTONIC, the clock behind
 * process.hrtime and performance.now (libuv's uv_hrtime), in nanoseconds as a Number.
 *
 * A read must not allocate: inside a measured loop, garbage is garbage collections inside the
 * window. Both of Node's own clocks allocate per read (process.hrtime.bigint() a BigInt,
 * performance.now() a heap number: 1e7 reads caused 273 and 314 scavenges here). So where the
 * native addon is built, a read is one N-API call that writes clock_gettime(CLOCK_MONOTONIC)
 * into this thread's Float64Array cell and returns nothing (1e7 reads: no collection, ~45 ns a
 * read). Without the addon, performance.now() plus a per-thread offset to process.hrtime (the
 * tightest of 2 000 bracketing reads; error `offsetErrorNs`) keeps the same clock, allocating,
 * and the environment says so (`clock.source`).
 */
import { loadNativeAddon } from '../../implementations/native/addon.js';
import type { ClockCalibration } from '../results/types.js';

export function hrtimeNs(): number {
  return Number(process.hrtime.bigint());
}

const addon = loadNativeAddon();
const tick: (() => void) | null = addon.ok ? addon.module.clockTick : null;

/** Only the fallback clock needs an offset to process.hrtime; with the addon there is none. */
const offsetCalibration = (() => {
  if (tick !== null) return { offset: 0, errorNs: 0 };
  let bestWidth = Infinity;
  let offset = 0;
  for (let i = 0; i < 2000; i++) {
    const before = hrtimeNs();
    const now = performance.now();
    const after = hrtimeNs();
    if (after - before < bestWidth) {
      bestWidth = after - before;
      offset = (before + after) / 2 - now * 1e6;
    }
  }
  return { offset, errorNs: bestWidth / 2 };
})();

const offsetNs = offsetCalibration.offset;
/**
 * The clock's cell: tickClock() writes the time here. Hot loops read it as `tickClock();
 * clockCell[0]` instead of calling nowNs(): even a double *returned* from a call that V8 does
 * not inline is boxed into a heap number (measured in the consumer: 16 MB in a 2 s window).
 */
export const clockCell = new Float64Array(1);
if (addon.ok) addon.module.clockBind(clockCell);

/** Writes now (ns) into clockCell[0]; returns nothing, so nothing is boxed. */
export function tickClock(): void {
  if (tick !== null) tick();
  else clockCell[0] = Math.floor(performance.now() * 1e6 + offsetNs);
}

/** Where nowNs reads its time. */
export const CLOCK_SOURCE =
  tick !== null ? 'clock_gettime(CLOCK_MONOTONIC) via the addon (no allocation)' : 'performance.now + offset (allocates a heap number per read: no addon)';

/** Now, in ns on the shared clock. */
export function nowNs(): number {
  tickClock();
  return clockCell[0];
}

export function calibrateClock(reads = 200_000): ClockCalibration {
  let resolution = Infinity;
  let previous = nowNs();
  const start = previous;
  for (let i = 0; i < reads; i++) {
    const t = nowNs();
    const step = t - previous;
    if (step > 0 && step < resolution) resolution = step;
    previous = t;
  }
  return { resolutionNs: resolution, overheadNs: (previous - start) / reads, offsetErrorNs: offsetCalibration.errorNs, source: CLOCK_SOURCE };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
