/**
 * Progress while a suite runs: a bar on a terminal (cli-progress), plain lines otherwise, so
 * logs in CI stay readable. Always on stderr: stdout carries the table or the JSON.
 */
import cliProgress from 'cli-progress';
import { formatCount } from '../../wire/units.js';
import type { CaseResult } from '../results/types.js';
import type { RunEvents } from '../run/runner.js';

export function progressReporter(scenarioName: string): RunEvents & { stop(): void } {
  const tty = process.stderr.isTTY === true;
  const bar = tty
    ? new cliProgress.SingleBar(
        // No redraw timer (fps near 0): the bar redraws only when a case starts or ends, so the
        // main thread stays asleep during measure windows.
        {
          format: `${scenarioName} [{bar}] {value}/{total} cases | {case}`,
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
  const describe = (c: CaseResult) =>
    c.status === 'ok' ? `ok ${c.summary?.msgsPerSec !== undefined ? `${formatCount(c.summary.msgsPerSec)} msg/s` : ''}` : `${c.status}: ${c.reason ?? ''}`;
  return {
    roundStarted(round, rounds) {
      // order: rounds: trial k of every case, then k + 1; cases finish in the last round.
      if (bar) {
        if (started) bar.update({ case: `round ${round + 1} of ${rounds}` });
      } else process.stderr.write(`round ${round + 1} of ${rounds} (one trial of every case)\n`);
    },
    trialFinished(planned) {
      if (bar && started) bar.update({ case: planned.id });
    },
    caseStarted(planned, index, total) {
      if (bar) {
        if (!started) bar.start(total, index, { case: planned.id });
        else bar.update(index, { case: planned.id });
        started = true;
      }
    },
    caseFinished(result, index, total) {
      if (bar) bar.update(index + 1, { case: result.id });
      else
        process.stderr.write(
          `[${index + 1}/${total}] ${result.id} ${describe(result)}${result.oversubscribed && result.status !== 'skipped' ? ' (oversubscribed)' : ''}\n`,
        );
    },
    stop() {
      if (bar && started) bar.stop();
    },
  };
}
