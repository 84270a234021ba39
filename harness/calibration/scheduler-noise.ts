import type { SchedulerNoise } from '../results/types.js';
/**
 * How often this machine takes a running thread off the CPU, measured by spinning on the clock
 * and recording every gap longer than GAP_NS. On a quiet dedicated machine that is ~0; on the
 * 2-core VMs this project runs on, a lone spinning thread lost ~1.7% of its time in gaps of up
 * to ~3 ms. Any percentile above (100 − lostPct) then includes stalls that no queue can avoid,
 * so every result records this and warns when it matters.
 */
export const GAP_NS = 50_000;

export function measureSchedulerNoise(spinMs = 500): SchedulerNoise {
  const end = performance.now() + spinMs;
  let last = performance.now();
  let gaps = 0;
  let lost = 0;
  let max = 0;
  for (;;) {
    const now = performance.now();
    const gap = (now - last) * 1e6;
    if (gap > GAP_NS) {
      gaps++;
      lost += gap;
      if (gap > max) max = gap;
    }
    last = now;
    if (now > end) break;
  }
  return { spinMs, gaps, lostPct: (100 * lost) / (spinMs * 1e6), maxGapNs: max };
}
