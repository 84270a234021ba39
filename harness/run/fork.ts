/**
 * `fork: process`: runs one trial in a fresh Node process, so JIT tiers, inline caches and GC
 * state of one trial cannot carry into the next. The child is the CLI's hidden `_trial` command;
 * it reads the setup on stdin and writes the TrialResult as JSON on stdout.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../implementations/shared/package-root.js';
import type { TrialResult } from '../results/types.js';
import type { TrialSetup } from './trial.js';

export interface ForkedTrialRequest {
  planned: TrialSetup['planned'];
  scenario: TrialSetup['scenario'];
  trial: number;
}

export function runTrialInChild(setup: TrialSetup): Promise<TrialResult> {
  const request: ForkedTrialRequest = { planned: setup.planned, scenario: setup.scenario, trial: setup.trial };
  const cli = join(packageRoot(), 'dist', 'harness', 'cli', 'main.js');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, '_trial'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // The child enforces the trial timeout itself; this one catches a child that cannot.
    const guard = setTimeout(() => child.kill('SIGKILL'), setup.scenario.timeout / 1e6 + 15_000);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      try {
        resolve(JSON.parse(stdout) as TrialResult);
      } catch {
        const why = signal ? `signal ${signal}` : `exit code ${code}`;
        resolve({ trial: setup.trial, status: 'failed', reason: `forked trial process ended (${why}) without a result: ${stderr.trim().slice(-500)}` });
      }
    });
    child.stdin.end(JSON.stringify(request));
  });
}
