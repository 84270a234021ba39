import { createHistogram, encodeHistogram, type Histogram } from '../metrics/histogram.js';
import type { MeasureWindow } from './measure-window.js';
import type { WorkerReport } from './protocol.js';

/**
 * Intended send times for the open-loop `rate` workload: bursts of `burst` messages, one burst
 * every burst/rate seconds, counted from the start. The schedule never moves because the sender
 * fell behind: late bursts stay due at their original times, which is what makes latency measured
 * from `due` honest under stalls (coordinated omission, as wrk2 and HdrHistogram describe it).
 */
export class RateSchedule {
  readonly intervalNs: number;
  /**
   * [0]: when the current burst is due; [1]: bursts sent so far; [2]: messages of the current
   * burst not yet sent. All live in a Float64Array:
   * - the rate producer reads the due time in its pacing spin, and a double kept in an object
   *   field or returned from a call V8 does not inline becomes a heap number (measured: ~11
   *   scavenges per 3M messages), while a typed-array element is read and written in place;
   * - a burst count kept as a small integer made `bursts × intervalNs` an int32 multiply that
   *   overflowed after 2^31 ns of schedule (at 500k msg/s, about a second into the window), and
   *   V8 deoptimised the producer there (--trace-deopt: "overflow" in next); read from a
   *   Float64Array the product is a double from the start.
   */
  private readonly cells = new Float64Array(3);
  readonly dueCell = this.cells.subarray(0, 1);

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    readonly startNs: number,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`rate must be positive, got ${ratePerSecond}`);
    this.intervalNs = (burst * 1e9) / ratePerSecond;
    this.cells[0] = startNs;
    this.cells[2] = burst;
  }

  /** Messages of the current burst not yet sent. */
  get remaining(): number {
    return this.cells[2];
  }

  /** `n` messages of the current burst went out; the next burst is due once all of it has. */
  sent(n: number): void {
    const left = this.cells[2] - n;
    if (left > 0) {
      this.cells[2] = left;
      return;
    }
    this.cells[2] = this.burst;
    this.next();
  }

  /** When the current burst is due. */
  get due(): number {
    return this.cells[0];
  }

  /** The current burst has been sent; move to the next. */
  next(): void {
    const bursts = this.cells[1] + 1;
    this.cells[1] = bursts;
    this.cells[0] = this.startNs + bursts * this.intervalNs;
  }

  /** Bursts already due at `nowNs` and not yet sent (the backlog after a stall). */
  backlog(nowNs: number): number {
    if (nowNs < this.due) return 0;
    return Math.floor((nowNs - this.due) / this.intervalNs) + 1;
  }
}

/**
 * Messages that were due inside the window but never sent are not absent from the latency
 * figures: each was at least STOP − intended late (they would otherwise vanish exactly when the
 * queue was slowest, the coordinated omission the rate workload exists to avoid). Moves the
 * schedule past STOP.
 */
export function unsentAtStop(schedule: RateSchedule, openedAtNs: number, stopNs: number): { count: number; latency: string } {
  const unsent = createHistogram(true);
  let count = 0;
  for (let first = true; schedule.dueCell[0] < stopNs; first = false, schedule.next()) {
    if (schedule.dueCell[0] < openedAtNs) continue;
    const n = first ? schedule.remaining : schedule.burst;
    unsent.recordValueWithCount(Math.max(0, stopNs - schedule.dueCell[0]), n);
    count += n;
  }
  const latency = encodeHistogram(unsent);
  unsent.destroy();
  return { count, latency };
}

/** The rate producer's own figures, added to its report once it has stopped (loop-parts/open-loop-sender.ts). */
export function addRateFigures(report: WorkerReport, schedule: RateSchedule, window: MeasureWindow, sendLag: Histogram, sent: number): void {
  report.totalSent = sent;
  report.sendLag = encodeHistogram(sendLag);
  report.unsentAtStop = unsentAtStop(schedule, window.openedAtNs, window.closedAtNs);
  sendLag.destroy();
}
