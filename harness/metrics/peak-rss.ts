/**
 * Peak resident set size over a window, without waking the main thread to sample it: the
 * kernel keeps the high-water mark (VmHWM in /proc/self/status), and writing "5" to
 * /proc/self/clear_refs resets it to the current RSS. So: reset at the window's start, read at
 * its end. Where either is missing (not Linux, or not allowed), the RSS at the two edges is
 * the best that can be said, and the result says how it was measured.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type PeakRssMethod = 'VmHWM' | 'edges';

/** Starts a window; returns how its peak will be measured. */
export function resetPeakRss(): PeakRssMethod {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return vmHwmBytes() !== undefined ? 'VmHWM' : 'edges';
  } catch {
    return 'edges';
  }
}

export function vmHwmBytes(): number | undefined {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * The window's peak so far: VmHWM when it was reset at the start, else the RSS now (the caller
 * takes the larger of this and the RSS it sampled as the window opened: the other edge).
 */
export function peakRssBytes(method: PeakRssMethod): number {
  const now = process.memoryUsage.rss();
  return method === 'VmHWM' ? Math.max(vmHwmBytes() ?? now, now) : now;
}
