/**
 * How busy the machine was just before a suite: whole-machine CPU use over the second before
 * the first case (os-utils samples os.cpus() across one second; nothing of the harness runs
 * then, so it is all other programs'), the load average and free memory. A suite that starts on
 * a busy machine says so in a warning, before anyone reads its tails.
 */
import osUtils from 'os-utils';
import type { MachineLoad } from '../results/types.js';

/** Other programs using more than this share of one core before a suite earn a warning. */
export const BUSY_BEFORE_LIMIT_PCT = 25;

export function measureMachineLoad(): Promise<MachineLoad> {
  return new Promise((resolve) =>
    osUtils.cpuUsage((busy) =>
      resolve({
        cpuBusyPct: busy * 100,
        loadAverage: [osUtils.loadavg(1), osUtils.loadavg(5), osUtils.loadavg(15)],
        freeMemoryBytes: Math.round(osUtils.freemem() * 1024 * 1024),
      }),
    ),
  );
}

/** A warning when other programs used more than BUSY_BEFORE_LIMIT_PCT of a core, else undefined. */
export function busyWarning(load: MachineLoad, cores: number): string | undefined {
  const ofOneCore = load.cpuBusyPct * cores;
  if (ofOneCore <= BUSY_BEFORE_LIMIT_PCT) return undefined;
  return `the machine was busy before the suite: other programs used ${ofOneCore.toFixed(0)}% of a core in the second before it started (load average ${load.loadAverage[0].toFixed(2)}); figures may include their interference`;
}
