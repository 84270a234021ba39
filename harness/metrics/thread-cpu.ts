/**
 * CPU time of the calling thread, from /proc/thread-self/schedstat (first field: nanoseconds on
 * CPU). process.cpuUsage() inside a worker is process-wide, so it cannot tell threads apart.
 * A read costs ~12 µs: take it at window edges, never per message.
 */
import { readFileSync } from 'node:fs';

export function threadCpuNs(): number | null {
  try {
    const text = readFileSync('/proc/thread-self/schedstat', 'utf8');
    const ns = Number(text.split(' ')[0]);
    return Number.isFinite(ns) ? ns : null;
  } catch {
    return null;
  }
}
