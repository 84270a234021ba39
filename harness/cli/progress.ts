/**
 * Progress while a suite runs: a bar on a terminal (cli-progress), plain lines otherwise, so
 * logs in CI stay readable. Always on stderr: stdout carries the table or the JSON.
 */
import cliProgress from 'cli-progress';
import { formatCount } from '../../wire/units.js';
import type { CaseResult } from '../results/types.js';
import type { RunEvents } from '../run/case-runner.js';
import { formatEta, trialSeconds } from '../run/estimate.js';
import type { PlannedCase } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';

/**
 * Time left: the estimate of the trials still to run (harness/run/estimate.ts), scaled by the
 * pace measured so far (seconds taken per second estimated), so a slower machine or a busier
 * one corrects the estimate as the suite goes.
 */
class Eta {
  private scenario: Scenario | undefined;
  private total = 0;
  private done = 0;
  private readonly trialsDone = new Map<string, number>();
  /** Set as the first case starts: the floors and calibrations before it are not trials. */
  private startedMs: number | undefined;

  started(): void {
    this.startedMs ??= performance.now();
  }

  plan(cases: readonly PlannedCase[], scenario: Scenario): void {
    this.scenario = scenario;
    this.total = cases.reduce((sum, p) => sum + scenario.trials * trialSeconds(p, scenario), 0);
  }

  trialFinished(p: PlannedCase): void {
    if (!this.scenario) return;
    this.done += trialSeconds(p, this.scenario);
    this.trialsDone.set(p.id, (this.trialsDone.get(p.id) ?? 0) + 1);
  }

  /** A case that ended before its trials (skipped, or no server) will not run them. */
  caseFinished(result: CaseResult, p: PlannedCase | undefined): void {
    if (!this.scenario || !p) return;
    const left = this.scenario.trials - (this.trialsDone.get(result.id) ?? 0);
    if (left > 0) this.total -= left * trialSeconds(p, this.scenario);
  }

  text(): string {
    if (this.total <= 0) return '';
    const elapsed = this.startedMs === undefined ? 0 : (performance.now() - this.startedMs) / 1000;
    const pace = this.done > 0 ? elapsed / this.done : 1;
    return `~${formatEta((this.total - this.done) * pace)} left in this scenario`;
  }
}

export function progressReporter(scenarioName: string): RunEvents & { stop(): void } {
  const tty = process.stderr.isTTY === true;
  const bar = tty
    ? new cliProgress.SingleBar(
        // No redraw timer (fps near 0): the bar redraws only when a case starts or ends, so the
        // main thread stays asleep during measure windows.
        {
          format: `${scenarioName} [{bar}] {value}/{total} cases | {eta_left} | {case}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
          fps: 0.001,
          synchronousUpdate: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let started = false;
  const eta = new Eta();
  const plannedById = new Map<string, PlannedCase>();
  const describe = (c: CaseResult) =>
    c.status === 'ok' ? `ok ${c.summary?.msgsPerSec !== undefined ? `${formatCount(c.summary.msgsPerSec)} msg/s` : ''}` : `${c.status}: ${c.reason ?? ''}`;
  return {
    planned(cases, scenario) {
      eta.plan(cases, scenario);
      for (const p of cases) plannedById.set(p.id, p);
    },
    roundStarted(round, rounds) {
      // order: rounds: trial k of every case, then k + 1; cases finish in the last round.
      if (bar) {
        if (started) bar.update({ case: `round ${round + 1} of ${rounds}` });
      } else process.stderr.write(`round ${round + 1} of ${rounds} (one trial of every case)${round > 0 ? `, ${eta.text()}` : ''}\n`);
    },
    trialFinished(planned) {
      eta.trialFinished(planned);
      if (bar && started) bar.update({ case: planned.id, eta_left: eta.text() });
    },
    caseStarted(planned, index, total) {
      eta.started();
      if (bar) {
        if (!started) bar.start(total, index, { case: planned.id, eta_left: eta.text() });
        else bar.update(index, { case: planned.id, eta_left: eta.text() });
        started = true;
      }
    },
    caseFinished(result, index, total) {
      eta.caseFinished(result, plannedById.get(result.id));
      const left = eta.text();
      if (bar) bar.update(index + 1, { case: result.id, eta_left: left });
      else
        process.stderr.write(
          `[${index + 1}/${total}] ${result.id} ${describe(result)}${result.oversubscribed && result.status !== 'skipped' ? ' (oversubscribed)' : ''}${left && index + 1 < total ? ` (${left})` : ''}\n`,
        );
    },
    stop() {
      if (bar && started) bar.stop();
    },
  };
}
