/**
 * Where the host had this machine's two cores for a trial, from the core-to-core round trip
 * measured just before it (`trials[].coreRoundTripNs`, calibration/core-round-trip.ts).
 *
 * On the 2-core VMs behind docs/method.md the round trips fall in two clusters with nothing
 * between: 67–192 ns (the vCPUs on nearby physical cores) and 302–394 ns (far apart), and any
 * figure that moves cache lines between threads differs between them by up to 3× (sab-spsc
 * throughput, batch 1: 3.6M msg/s far, 10.7M near, in one case's five trials). The split lies
 * in the gap: below NEAR_BELOW_NS is near. A machine whose cores always sit the same way puts
 * every trial in one class, and nothing changes for it.
 */
import { median } from '../metrics/stats.js';
import type { CaseResult, TrialResult } from './types.js';

export type Placement = 'near' | 'far' | 'unknown';

/** Round trips below this are near cores, at or above it far ones (docs/method.md). */
export const NEAR_BELOW_NS = 200;

/** Two placements' figures count as different modes when their medians are this far apart. */
export const MODES_APART_RATIO = 1.2;

export function placementOf(coreRoundTripNs: number | undefined): Placement {
  if (coreRoundTripNs === undefined || !Number.isFinite(coreRoundTripNs) || coreRoundTripNs <= 0) return 'unknown';
  return coreRoundTripNs < NEAR_BELOW_NS ? 'near' : 'far';
}

/** One trial's figure with where it ran. */
export interface PlacedValue {
  value: number;
  placement: Placement;
}

/** A figure's trials on one placement. */
export interface PlacementMode {
  placement: Placement;
  trials: number;
  median: number;
}

/** The figure's trials grouped by placement, near first. */
export function byPlacement(values: readonly PlacedValue[]): PlacementMode[] {
  const order: Placement[] = ['near', 'far', 'unknown'];
  return order
    .map((placement) => {
      const own = values.filter((v) => v.placement === placement).map((v) => v.value);
      return { placement, trials: own.length, median: own.length > 0 ? median(own) : Number.NaN };
    })
    .filter((m) => m.trials > 0);
}

/**
 * The figure's modes when it depends on placement: trials on both near and far cores whose
 * medians lie MODES_APART_RATIO or more apart. Undefined when one median describes the figure.
 */
export function placementModes(values: readonly PlacedValue[]): PlacementMode[] | undefined {
  const modes = byPlacement(values).filter((m) => m.placement !== 'unknown');
  if (modes.length < 2) return undefined;
  const [a, b] = [modes[0].median, modes[1].median];
  return Math.max(a, b) / Math.min(a, b) >= MODES_APART_RATIO ? modes : undefined;
}

/** A figure's modes in a line: "near 1 trial 10.7M, far 4 trials 3.58M". */
function modesText(modes: readonly PlacementMode[], format: (x: number) => string): string {
  return modes.map((m) => `${m.placement} ${m.trials} trial${m.trials === 1 ? '' : 's'} ${format(m.median)}`).join(', ');
}

/**
 * One line per case whose msg/s or p99 depends on placement, each mode with its count: the
 * case's median alone would describe neither (shared by the run's table and the reports).
 */
export function placementNotes(cases: readonly CaseResult[], formatRate: (x: number) => string, formatLatency: (x: number) => string): string[] {
  const lines: string[] = [];
  for (const c of cases) {
    const ok = c.trials.filter((t) => t.status === 'ok');
    const placed = (pick: (t: TrialResult) => number | undefined): PlacedValue[] =>
      ok.flatMap((t) => {
        const value = pick(t);
        return value !== undefined && value > 0 ? [{ value, placement: placementOf(t.coreRoundTripNs) }] : [];
      });
    const rate = placementModes(placed((t) => t.msgsPerSec));
    const p99 = placementModes(placed((t) => t.latencyNs?.p99));
    const parts = [rate ? `msg/s ${modesText(rate, formatRate)}` : '', p99 ? `p99 ${modesText(p99, formatLatency)}` : ''].filter(Boolean);
    if (parts.length > 0) lines.push(`${c.id}: ${parts.join('; ')}`);
  }
  return lines;
}
