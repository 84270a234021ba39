/**
 * scenarios/clusters.yaml as CI runs it: a 3-node NATS cluster (core and JetStream) and a Redis
 * primary with 2 replicas, started by the harness on loopback, every message verified across
 * the nodes, the servers' figures summed over their nodes, and every node stopped after.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResultFile } from '../harness/results/types.js';
import { runScenario } from '../harness/run/runner.js';
import { parseScenario } from '../harness/scenario/load.js';
import { backendIds, networkBackends } from '../implementations/registry.js';

const clustered = networkBackends.filter((b) => b.cluster !== undefined);
const missing = clustered.filter((b) => !b.available().available);
if (missing.length > 0 && process.env.NANOMQ_REQUIRE_SERVERS === '1')
  throw new Error(`servers missing: ${missing.map((b) => b.available().reason).join('; ')}`);

describe.skipIf(missing.length > 0)('scenarios/clusters.yaml (local clusters the harness starts)', () => {
  let result: ResultFile;
  beforeAll(async () => {
    const text = readFileSync('scenarios/clusters.yaml', 'utf8');
    // The scenario as shipped, shortened: CI measures that it works, not how fast.
    const scenario = parseScenario(text, 'scenarios/clusters.yaml', backendIds());
    result = await runScenario({ ...scenario, duration: 500e6, warmup: 200e6 }, 'scenarios/clusters.yaml');
  }, 240_000);

  it('delivers every message across the nodes, on every workload', () => {
    expect(result.cases).toHaveLength(9);
    for (const c of result.cases) {
      expect(c.status, `${c.id}: ${c.reason}`).toBe('ok');
      const k = c.trials[0].correctness!;
      expect(k.lost + k.corrupt + k.reordered).toBe(0);
      expect(k.received).toBeGreaterThan(0);
    }
  });

  it("sums the servers' figures over their 3 nodes and stops every node", () => {
    for (const c of result.cases) {
      const s = c.trials[0].server!;
      expect(s.nodes).toBe(3);
      expect(s.cpuPct).toBeGreaterThan(0);
      // Three processes: more than any one of them alone would hold.
      expect(s.peakRssBytes).toBeGreaterThan(3 * 1024 * 1024);
      // Three servers beside the clients: the flags say the machine was oversubscribed.
      expect(c.busyThreads).toBeGreaterThanOrEqual(5);
    }
    for (const id of ['nats', 'nats-jetstream', 'redis-streams']) {
      const server = result.environment.servers![id];
      // Which backend and durability, as fields (the report reads these, not the key).
      expect(server).toMatchObject({ backend: id, durability: 'none' });
      expect(server.url.split(',')).toHaveLength(3);
      expect(server.pids).toHaveLength(3);
      for (const pid of server.pids!) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    }
  });
});
