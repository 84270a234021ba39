/** Where and with what a run was made, recorded in every result file. */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, release, totalmem, type } from 'node:os';
import { measureBoundaryCost, type BoundaryCost } from '../metrics/boundary-cost.js';
import { calibrateClock, type ClockCalibration } from '../metrics/clock.js';
import { measureHarnessOverhead, type HarnessOverhead } from '../metrics/harness-overhead.js';
import { measureSchedulerNoise, type SchedulerNoise } from '../metrics/scheduler-noise.js';
import { formatDuration } from '../units.js';

export interface Environment {
  node: string;
  v8: string;
  os: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  gitCommit: string | null;
  startedAt: string;
  finishedAt?: string;
  clock: ClockCalibration;
  /** Single-thread cost of one message through sab-spsc and through the N-API boundary. */
  boundary: BoundaryCost;
  /** The harness's own per-message work on one thread, through the `null` backend. */
  harnessOverhead: HarnessOverhead;
  /** How often the machine takes a spinning thread off the CPU (measured before the run). */
  schedulerNoise: SchedulerNoise;
  /** Anything that makes the figures less trustworthy (few cores, a dirty tree, …). */
  warnings: string[];
  /** How busy the machine was in the second before the suite (calibration/machine-load.ts). */
  machineBefore?: import('../calibration/machine-load.js').MachineLoad;
  /** The bare-ring latency floor at the suite's highest rate (calibration/latency-floor.ts); rate suites only. */
  latencyFloor?: import('../calibration/latency-floor.js').LatencyFloor;
  [extra: string]: unknown;
}

function gitCommit(): string | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
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
