/**
 * `run --dry-run`: what a run would do, before it spends the machine's time: every case of
 * every scenario, whether it runs (or why not), its trials and their expected duration, and
 * the total. Nothing is measured, started or written.
 */
import { findBackend } from '../../implementations/registry.js';
import { estimateScenario, formatEta, trialSeconds } from '../run/estimate.js';
import { planCases } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';
import { renderTable } from './table.js';

export interface DryRunInput {
  file: string;
  scenario: Scenario;
}

export function dryRun(inputs: readonly DryRunInput[], json: boolean): string {
  const scenarios = inputs.map(({ file, scenario }) => {
    const planned = planCases(scenario, findBackend);
    const estimate = estimateScenario(planned, scenario);
    return { file, scenario, planned, estimate };
  });
  const totalSeconds = scenarios.reduce((sum, s) => sum + s.estimate.seconds, 0);
  if (json) {
    const out = scenarios.map(({ file, scenario, planned, estimate }) => ({
      file,
      scenario: scenario.name,
      ...estimate,
      cases: planned.map((p) => ({
        id: p.id,
        skip: p.skip,
        oversubscribed: p.oversubscribed,
        trials: p.skip ? 0 : scenario.trials,
        seconds: scenario.trials * trialSeconds(p, scenario),
      })),
    }));
    return `${JSON.stringify({ dryRun: true, seconds: totalSeconds, scenarios: out }, null, 2)}\n`;
  }
  const lines: string[] = [];
  for (const { file, scenario, planned, estimate } of scenarios) {
    const rows = planned.map((p) => [
      p.id,
      p.skip ? '-' : String(scenario.trials),
      p.skip ? '-' : formatEta(scenario.trials * trialSeconds(p, scenario)),
      p.skip ? `skipped: ${p.skip}` : p.oversubscribed ? 'oversubscribed' : p.noHeadroom ? 'no headroom' : '',
    ]);
    lines.push(
      `${scenario.name} (${file}): ${estimate.cases} case(s), ${estimate.skipped} skipped, ${estimate.trials} trial(s) of ${(scenario.warmup + scenario.duration) / 1e9}s (warm-up + window), about ${formatEta(estimate.seconds)}`,
      renderTable(['case', 'trials', 'about', 'note'], rows, new Set([1, 2])),
      '',
    );
  }
  lines.push(`dry run: about ${formatEta(totalSeconds)} in all; nothing was run or written (drop --dry-run to run it)`);
  return `${lines.join('\n')}\n`;
}
