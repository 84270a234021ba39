/**
 * Runs a scenario: plans its cases, measures the machine's floors, runs the cases (case-runner.ts)
 * with the servers they need (server-pool.ts), and assembles the result file. A failing or hung
 * case is recorded and the suite goes on.
 */
import { findBackend } from '../../implementations/registry.js';
import { captureEnvironment } from '../calibration/environment.js';
import type { CaseResult, Environment, ResultFile } from '../results/types.js';
import { RESULT_SCHEMA } from '../results/types.js';
import { planCases, withBackends } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';
import { runWarnings } from './case-result.js';
import { CaseRunner, type RunEvents } from './case-runner.js';
import { machineFloors } from './machine-floors.js';
import { ServerPool } from './server-pool.js';

export interface RunOptions {
  /** Only these backends (CLI --backend). */
  backends?: readonly string[];
  /** Override the scenario's trial count (CLI --trials). */
  trials?: number;
  /** Only the cases with these ids (follow-up trials of `run --confirm-against`). */
  caseIds?: readonly string[];
  events?: RunEvents;
  /** When aborted (Ctrl-C), the cases not yet run are recorded as skipped: interrupted. */
  signal?: AbortSignal;
  /** Measured once per process and shared by the scenarios of one run. */
  environment?: Environment;
}

export async function runScenario(scenario: Scenario, file: string | undefined, options: RunOptions = {}): Promise<ResultFile> {
  // A suite's scenarios share the machine's description, but each has its own start: a second
  // scenario's file must not claim the whole suite's time as its own.
  const environment = options.environment ? { ...options.environment, startedAt: new Date().toISOString() } : captureEnvironment();
  const effective: Scenario = { ...withBackends(scenario, options.backends), trials: options.trials ?? scenario.trials };
  const planned = planCases(effective, findBackend).filter((p) => !options.caseIds || options.caseIds.includes(p.id));
  options.events?.planned?.(planned, effective);
  const { floors, warnings: floorWarnings } = await machineFloors(planned, options.signal, {
    windowNs: scenario.duration,
    natsServerNamed: scenario.servers?.nats?.url !== undefined,
  });
  // Servers for network backends: started when their first case runs, always stopped at the end.
  const servers = new ServerPool();
  let cases: CaseResult[];
  try {
    cases = await new CaseRunner(planned, effective, servers, options.events, options.signal).run();
  } finally {
    await servers.stopAll();
  }
  const warnings = [...environment.warnings, ...floorWarnings, ...runWarnings(cases, environment.cores)];
  return {
    schema: RESULT_SCHEMA,
    scenario: withoutSecrets(file ? { ...effective, file } : effective),
    environment: {
      ...environment,
      warnings,
      finishedAt: new Date().toISOString(),
      ...floors,
      ...(Object.keys(servers.records).length > 0 ? { servers: servers.records } : {}),
    },
    cases,
  };
}

/** The scenario as the result file keeps it: a server's token is a secret, not a figure, and results get published. */
function withoutSecrets<S extends Scenario>(scenario: S): S {
  if (!scenario.servers) return scenario;
  const servers = Object.fromEntries(Object.entries(scenario.servers).map(([id, s]) => [id, s.token ? { ...s, token: '(redacted)' } : s]));
  return { ...scenario, servers };
}
