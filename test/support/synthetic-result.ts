/** Small hand-made result files for compare and report tests. */
import { createHistogram, encodeHistogram } from '../../harness/metrics/histogram.js';
import type { CaseResult, ResultFile, TrialResult } from '../../harness/results/types.js';

/** A real encoded histogram: 100 000 values from 1 µs to ~100 µs. */
const HISTOGRAM = (() => {
  const h = createHistogram(false);
  for (let i = 0; i < 100_000; i++) h.recordValue(1000 + ((i * 7919) % 100_000));
  return encodeHistogram(h);
})();

export function synthCase(id: string, msgs: number[], p99s: number[] = msgs.map(() => 10_000)): CaseResult {
  const [backend, kind] = id.split('/');
  const workload = kind as CaseResult['workload'];
  const trials: TrialResult[] = msgs.map((m, i) => ({
    trial: i,
    status: 'ok',
    msgsPerSec: m,
    latencyNs: { p50: p99s[i] / 4, p99: p99s[i], max: p99s[i] * 2, count: 100_000, histogram: HISTOGRAM },
    correctness: { sent: 1000, received: 1000, lost: 0, duplicated: 0, reordered: 0, corrupt: 0 },
  }));
  const sorted = [...msgs].sort((a, b) => a - b);
  return {
    id,
    backend,
    workload,
    params: { payload: 0, producers: 1, batch: 1, wait: 'spin' },
    status: 'ok',
    oversubscribed: false,
    busyThreads: 2,
    trials,
    summary: { trials: msgs.length, msgsPerSec: sorted[Math.floor(sorted.length / 2)], correctness: trials[0].correctness, latencyNs: trials[0].latencyNs },
  };
}

export function synthResult(cases: CaseResult[], name = 'synthetic'): ResultFile {
  return {
    schema: 'nanomq.result/1',
    scenario: {
      name,
      duration: 1e9,
      warmup: 1e8,
      trials: cases[0]?.trials.length ?? 1,
      timeout: 1e10,
      verify: 'sequence',
      capacity: 1 << 20,
      fork: 'none',
      order: 'cases',
      pin: false,
      matrix: { backend: ['sab-spsc'], payload: [0], producers: [1], batch: [1], wait: ['spin'], durability: ['none'] },
      workloads: [{ kind: 'throughput' }],
    },
    environment: {
      node: '20.0.0',
      v8: '11',
      os: 'Linux',
      cpuModel: 'test',
      cores: 2,
      memoryBytes: 1,
      gitCommit: null,
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T00:01:00Z',
      clock: { resolutionNs: 20, overheadNs: 30 },
      boundary: { jsPushPopNs: 60 },
      harnessOverhead: { perMessageNs: 80, perMessageBatchedNs: 50 },
      warnings: [],
    },
    cases,
  };
}
