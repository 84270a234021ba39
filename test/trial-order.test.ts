/**
 * Trial order: `rounds` (the default) runs trial k of every case before trial k + 1 of any, so a
 * case's trials are spread over the suite; `cases` runs them back to back. An interrupted run in
 * rounds keeps every trial that finished.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../harness/run/runner.js';
import { parseScenario } from '../harness/scenario/load.js';
import { backendIds } from '../implementations/registry.js';

const scenario = (order: string) =>
  parseScenario(
    `name: order
duration: 50ms
warmup: 20ms
trials: 3
order: ${order}
matrix:
  backend: [sab-spsc]
  batch: [1, 32]
workloads:
  - kind: throughput
`,
    'order.yaml',
    backendIds(),
  );

async function trialSequence(order: string, abortAfter?: number) {
  const seen: string[] = [];
  const controller = new AbortController();
  const result = await runScenario(scenario(order), 'order.yaml', {
    signal: controller.signal,
    events: {
      trialFinished(planned, trial) {
        seen.push(`${planned.params.batch}#${trial.trial}`);
        if (seen.length === abortAfter) controller.abort();
      },
    },
  });
  return { seen, result };
}

describe('trial order', () => {
  it('rounds: trial k of every case, then trial k + 1; the result lists cases as planned, each with its trials in order', async () => {
    const { seen, result } = await trialSequence('rounds');
    expect(seen).toEqual(['1#0', '32#0', '1#1', '32#1', '1#2', '32#2']);
    expect(result.cases.map((c) => [c.params.batch, c.status, c.trials.map((t) => t.trial)])).toEqual([
      [1, 'ok', [0, 1, 2]],
      [32, 'ok', [0, 1, 2]],
    ]);
    expect(result.cases[0].summary?.trials).toBe(3);
  }, 60_000);

  it('cases: each case runs its trials back to back', async () => {
    const { seen } = await trialSequence('cases');
    expect(seen).toEqual(['1#0', '1#1', '1#2', '32#0', '32#1', '32#2']);
  }, 60_000);

  it('rounds, interrupted: every case is marked interrupted and keeps the trials that finished', async () => {
    const { result } = await trialSequence('rounds', 3);
    expect(result.cases.map((c) => [c.status, c.reason, c.trials.length])).toEqual([
      ['skipped', 'interrupted', 2],
      ['skipped', 'interrupted', 1],
    ]);
  }, 60_000);
});
