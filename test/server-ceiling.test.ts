/**
 * Which cases are held against nats-server's raw ceiling (harness/results/server-ceiling.ts): a
 * one-publisher throughput case that ran on one in-memory server of the harness's, at the
 * ceiling's payload; nothing else, since the ceiling is one publisher to one subscriber.
 */
import { describe, expect, it } from 'vitest';
import { measureNatsRawCeiling } from '../harness/calibration/nats-raw-ceiling.js';
import { summaryTable } from '../harness/cli/summary-table.js';
import { ceilingFor, ceilingNote } from '../harness/results/server-ceiling.js';
import type { CaseResult, ResultFile, ServerCeiling } from '../harness/results/types.js';
import { networkBackends } from '../implementations/registry.js';

const ceiling: ServerCeiling = {
  server: 'nats-server: v2.9.10 (core NATS, in memory)',
  payload: 64,
  msgsPerSec: 2e6,
  runs: [2e6, 1.9e6, 2.1e6],
  method: 'raw',
};

function throughputCase(
  change: { params?: Partial<CaseResult['params']>; workload?: CaseResult['workload']; status?: CaseResult['status']; nodes?: number } = {},
): CaseResult {
  return {
    id: 'broker/throughput/payload=64/producers=1/batch=256/wait=block',
    backend: 'broker',
    workload: change.workload ?? 'throughput',
    params: { payload: 64, producers: 1, batch: 256, wait: 'block', ...change.params },
    oversubscribed: false,
    noHeadroom: false,
    busyThreads: 3,
    status: change.status ?? 'ok',
    trials: [],
    summary: { trials: 3, msgsPerSec: 1.5e6, server: { cpuPct: 50, ...(change.nodes ? { nodes: change.nodes } : {}) } },
  } as unknown as CaseResult;
}

describe("nats-server's raw ceiling beside the cases", () => {
  it('holds a one-publisher throughput case on one in-memory server at the same payload against it', () => {
    expect(ceilingFor(throughputCase(), [ceiling])).toBe(ceiling);
    expect(ceilingNote(1.5e6, ceiling)).toBe(
      "msg/s 0.75× nats-server's raw ceiling at payload 64 B (2.00M msg/s: raw protocol, 256 a write, nothing verified)",
    );
  });

  it('holds nothing else: another workload, payload, producer count, a cluster, a durable server, a failed case, no server figures', () => {
    const none = [
      throughputCase({ workload: 'fan-out' }),
      throughputCase({ workload: 'consumer-group' }),
      throughputCase({ params: { payload: 1024 } }),
      throughputCase({ params: { producers: 2 } }),
      throughputCase({ nodes: 3 }),
      throughputCase({ params: { durability: 'batch' } }),
      throughputCase({ status: 'failed' }),
      { ...throughputCase(), summary: { trials: 3, msgsPerSec: 1.5e6 } } as CaseResult,
    ];
    for (const c of none) expect(ceilingFor(c, [ceiling]), `${c.workload} ${JSON.stringify(c.params)} ${c.status}`).toBeUndefined();
    expect(ceilingFor(throughputCase(), undefined)).toBeUndefined();
  });

  it("prints the reference and each held case's ratio below run's table, and nothing without a ceiling", () => {
    const result = {
      scenario: { name: 's' },
      environment: { warnings: [], cores: 2, serverCeilings: [ceiling] },
      cases: [throughputCase(), throughputCase({ workload: 'fan-out' })],
    } as unknown as ResultFile;
    const table = summaryTable(result);
    expect(table).toContain('reference: the raw ceiling of nats-server: v2.9.10 (core NATS, in memory), one publisher to one subscriber');
    expect(table).toContain('  broker/throughput/p=64/n=1/b=256/block: 1.50M msg/s, 0.75×');
    expect(table.match(/×$/gm)).toHaveLength(1);
    const without = summaryTable({ ...result, environment: { ...result.environment, serverCeilings: undefined } } as ResultFile);
    expect(without).not.toMatch(/reference:|raw ceiling/);
  });

  const natsInstalled = networkBackends.find((b) => b.id === 'nats')!.available().available;
  it.skipIf(!natsInstalled)('gives a run up when the suite is stopped, and says why', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const started = performance.now();
    const measured = await measureNatsRawCeiling([64], 30, 1, stop.signal);
    expect('problem' in measured ? measured.problem : 'measured').toMatch(/not measured: stopped/);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
