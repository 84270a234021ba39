/** Where and with what a run was made, recorded in every result file. */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, release, totalmem, type } from 'node:os';
import { formatDuration } from '../../wire/units.js';
import { calibrateClock } from '../metrics/clock.js';
import type { Environment } from '../results/types.js';
import { measureBoundaryCost } from './boundary-cost.js';
import { measureHarnessOverhead } from './harness-overhead.js';
import { measureSchedulerNoise } from './scheduler-noise.js';

/** The commit the checkout at `dir` (the working folder by default) is at, `-dirty` with changes to tracked files; null outside git. */
export function gitCommit(dir = '.'): string | null {
  try {
    const commit = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return null;
  }
}

export function captureEnvironment(): Environment {
  // First, before the other calibrations leave JIT and GC work running on background threads.
  const schedulerNoise = measureSchedulerNoise();
  const cores = availableParallelism();
  const warnings: string[] = [];
  if (cores <= 2) warnings.push(`only ${cores} cores: cases with more busy threads than cores are marked oversubscribed`);
  if (schedulerNoise.lostPct > 0.1) {
    warnings.push(
      `before the suite, this machine took a lone spinning thread off the CPU for ${schedulerNoise.lostPct.toFixed(2)}% of a ${schedulerNoise.spinMs} ms test (gaps up to ${formatDuration(schedulerNoise.maxGapNs)}): its scheduler preempts measured threads; each case's run delay says how much it did so during that case`,
    );
  }
  return {
    node: process.versions.node,
    v8: process.versions.v8,
    os: `${type()} ${release()} ${process.arch}`,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores,
    memoryBytes: totalmem(),
    gitCommit: gitCommit(),
    startedAt: new Date().toISOString(),
    clock: calibrateClock(),
    boundary: measureBoundaryCost(),
    harnessOverhead: measureHarnessOverhead(),
    schedulerNoise,
    warnings,
  };
}
