/**
 * What the kernel knows about the calling thread, read at window edges (a read costs ~12 µs:
 * never per message):
 * - /proc/thread-self/schedstat: ns on CPU, and ns runnable but waiting for a CPU (run delay:
 *   the time the scheduler kept this thread off a core it wanted);
 * - /proc/thread-self/status: voluntary (it slept) and involuntary (it was preempted) switches.
 * process.cpuUsage() inside a worker is process-wide, so it cannot tell threads apart.
 */
import { readFileSync } from 'node:fs';

export interface ThreadSchedule {
  onCpuNs: number;
  runDelayNs: number;
  voluntarySwitches: number;
  involuntarySwitches: number;
}

export function threadSchedule(): ThreadSchedule | null {
  try {
    const [onCpu, runDelay] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    const status = readFileSync('/proc/thread-self/status', 'utf8');
    const voluntary = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1]);
    const involuntary = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1]);
    if (![onCpu, runDelay, voluntary, involuntary].every(Number.isFinite)) return null;
    return { onCpuNs: onCpu, runDelayNs: runDelay, voluntarySwitches: voluntary, involuntarySwitches: involuntary };
  } catch {
    return null;
  }
}

export function threadCpuNs(): number | null {
  return threadSchedule()?.onCpuNs ?? null;
}
