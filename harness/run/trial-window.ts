/**
 * A trial's window, as the coordinator keeps it: warm-up, then the measure window, sleeping
 * through both (no sampling timers, no redraws), then STOP. Around the window it samples its own
 * CPU and memory and, when the server runs here, the server's CPU, run delay and peak RSS.
 */
import { cpus } from 'node:os';
import { nowNs, sleep } from '../metrics/clock.js';
import { peakRssBytes, resetPeakRss } from '../metrics/peak-rss.js';
import { busiestRunDelayNs, type ProcessSample, processPeakRssBytes, resetProcessPeakRss, sampleProcess } from '../metrics/process-stats.js';
import type { ServerFigures } from '../results/types.js';
import { type Control, Phase } from '../worker/control.js';
import type { CoordinatorSamples } from './figures.js';
import type { Crew } from './trial-crew.js';
import type { TrialSetup } from './trial-setup.js';
import type { TrialWatch } from './trial-watch.js';

export interface WindowOutcome {
  samples: CoordinatorSamples;
  /** The server's figures over the window, when its processes run here. */
  server: ServerFigures | undefined;
}

/** Warm-up, the measure window and STOP; the workers are ready. */
export async function runWindow(
  setup: TrialSetup,
  control: Control,
  watch: TrialWatch,
  crew: Crew,
  memory: { sharedBytes: number; rssAtStartBytes: number },
): Promise<WindowOutcome> {
  const { scenario } = setup;
  watch.phase = 'warm-up';
  control.setPhase(Phase.WARMUP);
  await watch.race(sleep(scenario.warmup / 1e6));

  watch.phase = 'measure window';
  const samples: CoordinatorSamples = {
    cpuStart: process.cpuUsage(),
    cpusStart: cpus(),
    wallStartNs: nowNs(),
    peakRssBytes: process.memoryUsage.rss(),
    sharedBytes: memory.sharedBytes,
    mainHeapBytes: 0,
    rssAtStartBytes: memory.rssAtStartBytes,
  };
  // The main thread sleeps through the window: no sampling timers, no redraws. The kernel
  // keeps the RSS high-water mark for us (reset here, read at the end).
  const peakMethod = resetPeakRss();
  const serverPids = setup.server?.pids ?? [];
  const serverStart = serverPids.map((pid) => sampleProcess(pid));
  const serverRssReset = serverPids.map((pid) => resetProcessPeakRss(pid));
  control.setPhase(Phase.MEASURE);
  if (setup.planned.params.fault === 'kill-member') {
    // The member dies halfway through the window, without a goodbye, as a crashed process would.
    await watch.race(sleep(scenario.duration / 2e6));
    await crew.kill('consumer#0');
    await watch.race(sleep(scenario.duration / 2e6));
  } else {
    await watch.race(sleep(scenario.duration / 1e6));
  }
  samples.wallEndNs = nowNs();
  control.setPhase(Phase.STOP);
  const serverEnd = serverPids.map((pid) => sampleProcess(pid));
  const server = serverPids.length > 0 ? serverFigures(serverPids, serverStart, serverEnd, serverRssReset, samples.wallEndNs - samples.wallStartNs) : undefined;
  samples.cpuEnd = process.cpuUsage(samples.cpuStart);
  samples.cpusEnd = cpus();
  samples.peakRssBytes = Math.max(samples.peakRssBytes, peakRssBytes(peakMethod));
  samples.mainHeapBytes = process.memoryUsage().heapUsed;
  return { samples, server };
}

/** A server's figures over the window; a cluster's are summed over its nodes (run delay: the busiest thread of any). */
function serverFigures(
  pids: readonly number[],
  start: (ProcessSample | null)[],
  end: (ProcessSample | null)[],
  rssReset: boolean[],
  windowNs: number,
): ServerFigures {
  const unreadable = pids.filter((_, i) => start[i] === null || end[i] === null);
  if (unreadable.length > 0) return { unavailable: `the server's /proc/${unreadable[0]}/task was not readable` };
  let onCpuNs = 0;
  let runDelayNs = 0;
  pids.forEach((_, i) => {
    onCpuNs += end[i]!.onCpuNs - start[i]!.onCpuNs;
    runDelayNs = Math.max(runDelayNs, busiestRunDelayNs(start[i]!, end[i]!));
  });
  const figures: ServerFigures = { cpuPct: (100 * onCpuNs) / windowNs, runDelayPct: (100 * runDelayNs) / windowNs };
  if (pids.length > 1) figures.nodes = pids.length;
  const peaks = pids.map((pid, i) => (rssReset[i] ? processPeakRssBytes(pid) : undefined));
  if (peaks.every((p) => p !== undefined)) figures.peakRssBytes = peaks.reduce((a, b) => a! + b!, 0);
  else figures.unavailable = `the server's peak RSS needs /proc/${pids[0]}/clear_refs and VmHWM`;
  return figures;
}
