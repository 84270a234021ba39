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
    return parseSchedule(readFileSync('/proc/thread-self/schedstat', 'utf8'), readFileSync('/proc/thread-self/status', 'utf8'));
  } catch {
    return null;
  }
}

function parseSchedule(schedstat: string, status: string): ThreadSchedule | null {
  const [onCpu, runDelay] = schedstat.split(' ').map(Number);
  const voluntary = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1]);
  const involuntary = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1]);
  if (![onCpu, runDelay, voluntary, involuntary].every(Number.isFinite)) return null;
  return { onCpuNs: onCpu, runDelayNs: runDelay, voluntarySwitches: voluntary, involuntarySwitches: involuntary };
}

// A spinning thread's CPU time passes 2^31 ns (2.1 s) about when a 1 s window after 1 s of
// warm-up closes. Past it V8 holds the numbers as doubles, not small integers, and code compiled
// for small ones (these arrays and this object, inlined into the measured loops through the
// window's edges) is thrown away at that edge: suspected cause of drainLoop's "wrong map"
// deoptimisation at the close under mpsc-cas, rate 100k, batch 256 (test/jit-window.test.ts;
// two CI runs on 2026-12-07). Parsing large values once, before any of this is compiled, lets
// them be doubles from the start (not confirmed with --trace-deopt-verbose yet).
parseSchedule('3000000000 3000000000 1\n', 'voluntary_ctxt_switches:\t3000000000\nnonvoluntary_ctxt_switches:\t3000000000\n');

export function threadCpuNs(): number | null {
  return threadSchedule()?.onCpuNs ?? null;
}
