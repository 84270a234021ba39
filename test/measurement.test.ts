/** Measurement pieces that every figure rests on: thread CPU, bootstrap intervals, SLO verdicts. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bootstrapCi, median, quantile, seededRandom } from '../harness/metrics/stats.js';
import type { CaseSummary } from '../harness/results/types.js';
import { sloVerdicts } from '../harness/run/summary.js';
import type { CpuWorkerData } from './support/worker-data.js';
import { workerAnswer } from './support/workers.js';

function cpuOf(mode: 'spin' | 'sleep'): Promise<number> {
  return workerAnswer<{ pct: number }>(new URL('./support/cpu-worker.mjs', import.meta.url), { mode, ms: 400 } satisfies CpuWorkerData, {
    what: `a ${mode}ing thread`,
    deadlineMs: 20_000,
  }).then((m) => m.pct);
}

describe.runIf(existsSync('/proc/thread-self/schedstat'))('thread CPU from /proc/thread-self/schedstat', () => {
  it('reads close to 100% of a core for a spinning thread', async () => {
    expect(await cpuOf('spin')).toBeGreaterThan(70);
  });
  it('reads close to 0% for a sleeping thread', async () => {
    expect(await cpuOf('sleep')).toBeLessThan(10);
  });
});

describe('bootstrap confidence interval of the median', () => {
  const normal = (random: () => number, mean: number, sd: number) => {
    const u = 1 - random();
    const v = random();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };

  it('contains the true median for tight data', () => {
    const random = seededRandom(1);
    const samples = Array.from({ length: 9 }, () => normal(random, 1000, 5));
    const [lo, hi] = bootstrapCi(samples)!;
    expect(lo).toBeLessThanOrEqual(1000);
    expect(hi).toBeGreaterThanOrEqual(1000);
    expect(hi - lo).toBeLessThan(20);
  });

  it('widens as the noise grows', () => {
    const random = seededRandom(2);
    const width = (sd: number) => {
      const [lo, hi] = bootstrapCi(Array.from({ length: 9 }, () => normal(random, 1000, sd)))!;
      return hi - lo;
    };
    expect(width(100)).toBeGreaterThan(3 * width(5));
  });

  it('separates well-separated groups', () => {
    const a = bootstrapCi([100, 101, 99, 100, 102])!;
    const b = bootstrapCi([120, 119, 121, 120, 122])!;
    expect(a[1]).toBeLessThan(b[0]);
  });

  it('gives no interval for one trial and is deterministic', () => {
    expect(bootstrapCi([5])).toBeUndefined();
    expect(bootstrapCi([1, 2, 3, 4])).toEqual(bootstrapCi([1, 2, 3, 4]));
    expect(median([3, 1, 2])).toBe(2);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
  });
});

describe('SLO verdicts', () => {
  const summary: CaseSummary = {
    trials: 1,
    msgsPerSec: 2e6,
    latencyNs: { p99: 8_000, max: 90_000, count: 5_000, histogram: '' },
    memory: { rssBytes: 80 * 2 ** 20, heapBytes: 0, sharedBytes: 0 },
    cpu: { producerPct: 99, consumerPct: 20 },
  };

  it("passes and fails each limit it can judge; CPU is the consumer thread's", () => {
    expect(sloVerdicts(summary, { p99: 10_000, throughput: 1e6, rss: 100 * 2 ** 20, cpu: 30 })).toEqual({
      p99: 'pass',
      throughput: 'pass',
      rss: 'pass',
      cpu: 'pass',
    });
    expect(sloVerdicts(summary, { p99: 5_000, throughput: 3e6, rss: 50 * 2 ** 20, cpu: 10 })).toEqual({
      p99: 'fail',
      throughput: 'fail',
      rss: 'fail',
      cpu: 'fail',
    });
  });

  it('gives no verdict for a figure it does not have (p999 from too few samples)', () => {
    expect(sloVerdicts(summary, { p999: 50_000 })).toEqual({});
  });
});
