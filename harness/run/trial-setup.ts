/** What a trial is given: the case, its scenario and backend, its server, its number, the run's signal. */
import type { ServerAddress } from '../../implementations/network-contract.js';
import type { AnyBackend } from '../../implementations/registry.js';
import type { PlannedCase } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';

/** The server a network backend's trial talks to; `pids` when it runs here (its figures are then measured). */
export interface TrialServer extends ServerAddress {
  /** Its processes: one, or a local cluster's nodes. */
  pids?: readonly number[];
}

export interface TrialSetup {
  planned: PlannedCase;
  scenario: Scenario;
  backend: AnyBackend;
  /** Network backends: the server started for the suite, or named by the scenario. */
  server?: TrialServer;
  trial: number;
  /** Aborted when the run is interrupted: the trial stops at once and reports failure. */
  signal?: AbortSignal;
}
