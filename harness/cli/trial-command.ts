/** Hidden `_trial`: the child side of `fork: process` (see ../run/fork.ts). */
import type { Command } from 'commander';
import { findBackend } from '../../implementations/registry.js';
import { type ForkedTrialRequest, TRIAL_PROTOCOL } from '../run/fork.js';
import { runTrial } from '../run/trial.js';

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

export function registerTrial(program: Command): void {
  program
    .command('_trial', { hidden: true })
    .description('run one trial read as JSON from stdin (used by fork: process)')
    .action(async () => {
      const request = JSON.parse(await readStdin()) as ForkedTrialRequest;
      // Another build's request (nanomq ab) that this build may read otherwise: refused, not guessed.
      if (request.protocol !== TRIAL_PROTOCOL) {
        const why = `this build runs trial requests of protocol ${TRIAL_PROTOCOL}, and was sent one of protocol ${request.protocol ?? '(none)'}: the two builds differ in what a trial is (rebuild both from one release line)`;
        process.stdout.write(JSON.stringify({ trial: request.trial, status: 'failed', reason: why }));
        return;
      }
      const backend = findBackend(request.planned.backend);
      if (!backend) throw new Error(`unknown backend ${request.planned.backend}`);
      const result = await runTrial({
        planned: request.planned,
        scenario: request.scenario,
        backend,
        trial: request.trial,
        ...(request.server ? { server: request.server } : {}),
      });
      process.stdout.write(JSON.stringify(result));
    });
}
