/**
 * Running a scenario's planned cases, in either order the scenario asks: case by case (every
 * trial of one case, then the next) or in rounds. A case that cannot start is recorded as such
 * (skipped, or failed without its server) and the suite goes on; a signal ends it, every case
 * not finished keeping the trials it ran, marked interrupted.
 */
import { findBackend, isNetworkBackend } from '../../implementations/registry.js';
import type { CaseResult, TrialResult } from '../results/types.js';
import type { PlannedCase } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';
import { caseHeader, finishedCase, skippedCase } from './case-result.js';
import { runTrialInChild } from './fork.js';
import type { ServerPool } from './server-pool.js';
import { runTrial } from './trial.js';
import type { TrialServer } from './trial-setup.js';

/** What a run tells whoever shows its progress (cli/progress.ts). */
export interface RunEvents {
  /** Before anything runs: every case of the scenario as planned (the trial count included). */
  planned?(cases: readonly PlannedCase[], scenario: Scenario): void;
  /** `order: rounds`: round `round` (0-based) of `rounds` begins. */
  roundStarted?(round: number, rounds: number): void;
  caseStarted?(planned: PlannedCase, index: number, total: number): void;
  trialFinished?(planned: PlannedCase, trial: TrialResult): void;
  caseFinished?(result: CaseResult, index: number, total: number): void;
}

export class CaseRunner {
  constructor(
    private readonly planned: readonly PlannedCase[],
    /** The scenario as run: --backend and --trials applied. */
    private readonly scenario: Scenario,
    private readonly servers: ServerPool,
    private readonly events: RunEvents | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {}

  run(): Promise<CaseResult[]> {
    return this.scenario.order === 'rounds' && this.scenario.trials > 1 ? this.inRounds() : this.caseByCase();
  }

  private async caseByCase(): Promise<CaseResult[]> {
    const cases: CaseResult[] = [];
    for (const [index, p] of this.planned.entries()) {
      this.events?.caseStarted?.(p, index, this.planned.length);
      const result = this.signal?.aborted ? skippedCase(p, 'interrupted') : await this.runCase(p);
      cases.push(result);
      this.events?.caseFinished?.(result, index, this.planned.length);
    }
    return cases;
  }

  /**
   * `order: rounds`: trial k of every case, for k = 1..trials. A case's trials then lie minutes
   * apart, so the machine's state in any one minute (another tenant, the host's frequency, which
   * regime a ring settles into) lands in one trial of each case rather than in all trials of
   * one: the spread between trials then includes what separates one run from the next, which a
   * comparison of two runs needs. (Run case by case, two 5-trial runs of the same code gave
   * dozens of significant verdicts in both directions: the trials of a case agreed with each
   * other far more than with the other run's.)
   */
  private async inRounds(): Promise<CaseResult[]> {
    const s = this.scenario;
    const total = this.planned.length;
    const done: (CaseResult | undefined)[] = new Array(total);
    const caseServers: (TrialServer | undefined)[] = new Array(total);
    const trials: TrialResult[][] = this.planned.map(() => []);
    for (let round = 0; round < s.trials && !this.signal?.aborted; round++) {
      this.events?.roundStarted?.(round, s.trials);
      for (const [index, p] of this.planned.entries()) {
        if (done[index] !== undefined) continue;
        if (round === 0) {
          this.events?.caseStarted?.(p, index, total);
          const prepared = await this.prepare(p);
          if ('status' in prepared) {
            done[index] = prepared;
            this.events?.caseFinished?.(prepared, index, total);
            continue;
          }
          caseServers[index] = prepared.server;
        }
        const result = await this.trialOf(p, round, caseServers[index]);
        if (result === null) break;
        trials[index].push(result);
        if (round === s.trials - 1) {
          done[index] = finishedCase(p, s, trials[index]);
          this.events?.caseFinished?.(done[index]!, index, total);
        }
      }
    }
    // Interrupted: every case not finished keeps the trials it ran.
    return this.planned.map((p, index) => done[index] ?? skippedCase(p, 'interrupted', trials[index]));
  }

  private async runCase(p: PlannedCase): Promise<CaseResult> {
    const prepared = await this.prepare(p);
    if ('status' in prepared) return prepared;
    const trials: TrialResult[] = [];
    for (let trial = 0; trial < this.scenario.trials; trial++) {
      const result = await this.trialOf(p, trial, prepared.server);
      if (result === null) return skippedCase(p, 'interrupted', trials);
      trials.push(result);
    }
    return finishedCase(p, this.scenario, trials);
  }

  /** Why a case cannot run at all (skipped or no server), or the server its trials use. */
  private async prepare(p: PlannedCase): Promise<CaseResult | { server?: TrialServer }> {
    if (p.skip) return skippedCase(p, p.skip);
    if (!isNetworkBackend(findBackend(p.backend)!)) return {};
    const got = await this.servers.serverFor(p, this.scenario);
    if (typeof got === 'string') return { ...caseHeader(p), status: 'failed', reason: got, trials: [] };
    return { server: got };
  }

  /** One trial; null when a signal stopped it (it then says nothing about the queue). */
  private async trialOf(p: PlannedCase, trial: number, server: TrialServer | undefined): Promise<TrialResult | null> {
    const s = this.scenario;
    const setup = { planned: p, scenario: s, backend: findBackend(p.backend)!, trial, signal: this.signal, ...(server ? { server } : {}) };
    const result = s.fork === 'process' ? await runTrialInChild(setup) : await runTrial(setup);
    // Also when the signal reached a forked trial process first: interrupted, not failed.
    if (this.signal?.aborted) return null;
    this.events?.trialFinished?.(p, result);
    return result;
  }
}
