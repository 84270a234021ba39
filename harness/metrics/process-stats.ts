/**
 * What the kernel knows about another process (a server the harness started), read at the
 * window's edges: CPU and run delay summed over all its threads (/proc/PID/task/TID/schedstat:
 * ns on CPU, ns runnable but waiting), the busiest thread's run delay, and its peak RSS
 * (VmHWM in /proc/PID/status, reset through /proc/PID/clear_refs like our own, peak-rss.ts).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface ProcessSample {
  /** ns on CPU, all threads. */
  onCpuNs: number;
  /** Per thread id: ns runnable but waiting for a CPU. */
  runDelayNs: Map<string, number>;
}

export function sampleProcess(pid: number): ProcessSample | null {
  try {
    let onCpuNs = 0;
    const runDelayNs = new Map<string, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [onCpu, delay] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
        onCpuNs += onCpu;
        runDelayNs.set(tid, delay);
      } catch {
        // A thread that ended between the listing and the read.
      }
    }
    return { onCpuNs, runDelayNs };
  } catch {
    return null;
  }
}

/** The largest run delay of one thread between two samples (threads born in between count from 0). */
export function busiestRunDelayNs(start: ProcessSample, end: ProcessSample): number {
  let most = 0;
  for (const [tid, delay] of end.runDelayNs) most = Math.max(most, delay - (start.runDelayNs.get(tid) ?? 0));
  return most;
}

/** Starts a peak-RSS window for `pid`; false where the kernel does not allow it. */
export function resetProcessPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export function processPeakRssBytes(pid: number): number | undefined {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}
