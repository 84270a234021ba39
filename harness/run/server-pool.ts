/**
 * The servers of one run: a case's server is the scenario's (`servers:` with a url), or one the
 * pool starts when the first case needs it and keeps for the rest of the run, one per backend
 * and durability, with the scenario's `nodes`. A server that would not start is not tried again:
 * every case that needs it fails with the same reason. `stopAll` stops every server the pool
 * started; the run calls it in a `finally`.
 */
import type { RunningServer } from '../../implementations/network-contract.js';
import { findBackend, isNetworkBackend } from '../../implementations/registry.js';
import { serverKey } from '../results/server-key.js';
import type { ServerRecord } from '../results/types.js';
import type { PlannedCase } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';
import type { TrialServer } from './trial-setup.js';

export class ServerPool {
  /** What the result file's environment.servers records, by key (backend, or backend/durability=…). */
  readonly records: Record<string, ServerRecord> = {};
  private readonly started = new Map<string, RunningServer>();
  private readonly failures = new Map<string, string>();

  /** The case's server, or why there is none. */
  async serverFor(p: PlannedCase, s: Scenario): Promise<TrialServer | string> {
    const id = p.backend;
    const durability = p.params.durability ?? 'none';
    const entry = s.servers?.[id];
    if (entry?.url !== undefined) {
      // Its owner chose how it stores messages; the harness cannot configure it per case.
      if (durability !== 'none')
        return `durability ${durability} needs a server the harness starts and configures; the one named under servers: runs as its owner set it up`;
      this.records[id] = { backend: id, url: entry.url, description: 'named by the scenario (servers:), not measured', startedByHarness: false };
      return entry.token ? { url: entry.url, token: entry.token } : { url: entry.url };
    }
    const key = serverKey(id, durability);
    const running = this.started.get(key);
    if (running) return { url: running.url, ...(running.token ? { token: running.token } : {}), pids: running.pids };
    const failed = this.failures.get(key);
    if (failed) return failed;
    const backend = findBackend(id);
    if (!backend || !isNetworkBackend(backend) || !backend.startServer) return `${id} needs a server: name one under servers: in the scenario`;
    try {
      const server = await backend.startServer({ durability, nodes: entry?.nodes ?? 1 });
      this.started.set(key, server);
      this.records[key] = { backend: id, durability, url: server.url, description: server.description, startedByHarness: true, pids: [...server.pids] };
      return this.serverFor(p, s);
    } catch (error) {
      const why = `could not start ${id}'s server: ${(error as Error).message}`;
      this.failures.set(key, why);
      return why;
    }
  }

  /** Stops every server the pool started. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.started.values()].map((s) => s.stop()));
  }
}
