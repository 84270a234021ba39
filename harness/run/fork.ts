/**
 * `fork: process`: runs one trial in a fresh Node process, so JIT tiers, inline caches and GC
 * state of one trial cannot carry into the next. The child is the CLI's hidden `_trial` command;
 * it reads the setup on stdin and writes the TrialResult as JSON on stdout.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../implementations/package-root.js';
import type { TrialResult } from '../results/types.js';
import type { TrialSetup } from './trial-setup.js';

/**
 * The shape and meaning of a trial request. `nanomq ab` hands one build's request to another
 * build's `_trial`, which refuses a request of another protocol rather than measure something
 * else than was asked: raise it whenever a field of the request, the scenario or the planned
 * case changes what a trial does.
 */
export const TRIAL_PROTOCOL = 1;

export interface ForkedTrialRequest {
  protocol: typeof TRIAL_PROTOCOL;
  planned: TrialSetup['planned'];
  scenario: TrialSetup['scenario'];
  trial: number;
  server?: TrialSetup['server'];
}

/**
 * The child runs in its own process group, so a Ctrl-C at the terminal reaches only this
 * process, which decides what happens to the child: on interruption it is killed (never left
 * orphaned at full CPU) and the trial is reported as interrupted, not as a failure.
 * `cli` is this build's by default; `nanomq ab` passes another build's, whose own code then runs
 * the trial.
 */
export function runTrialInChild(setup: TrialSetup, cli = join(packageRoot(), 'dist', 'harness', 'cli', 'main.js')): Promise<TrialResult> {
  const request: ForkedTrialRequest = { protocol: TRIAL_PROTOCOL, planned: setup.planned, scenario: setup.scenario, trial: setup.trial };
  if (setup.server) request.server = setup.server;
  // A stop that came before this trial: no process is started (a listener added now would never fire).
  if (setup.signal?.aborted) return Promise.resolve({ trial: setup.trial, status: 'failed', reason: 'interrupted' });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, '_trial'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const kill = () => child.kill('SIGKILL');
    setup.signal?.addEventListener('abort', kill, { once: true });
    // Whatever ends this process normally, no child outlives it.
    process.once('exit', kill);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // The child enforces the trial timeout itself; this one catches a child that cannot.
    const guard = setTimeout(() => child.kill('SIGKILL'), setup.scenario.timeout / 1e6 + 15_000);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      setup.signal?.removeEventListener('abort', kill);
      process.off('exit', kill);
      if (setup.signal?.aborted) {
        resolve({ trial: setup.trial, status: 'failed', reason: 'interrupted' });
        return;
      }
      try {
        resolve(JSON.parse(stdout) as TrialResult);
      } catch {
        const why = signal ? `signal ${signal}` : `exit code ${code}`;
        resolve({ trial: setup.trial, status: 'failed', reason: `forked trial process ended (${why}) without a result: ${stderr.trim().slice(-500)}` });
      }
    });
    child.stdin.on('error', () => {}); // a child killed early closes its stdin under us
    child.stdin.end(JSON.stringify(request));
  });
}
