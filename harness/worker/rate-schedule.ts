/**
 * Intended send times for the open-loop `rate` workload: bursts of `burst` messages, one burst
 * every burst/rate seconds, counted from the start. The schedule never moves because the sender
 * fell behind: late bursts stay due at their original times, which is what makes latency measured
 * from `due` honest under stalls (coordinated omission, as wrk2 and HdrHistogram describe it).
 */
export class RateSchedule {
  readonly intervalNs: number;
  private bursts = 0;
  /**
   * When the current burst is due, in a Float64Array cell updated by next(): the rate producer
   * reads it in its pacing spin, and a double kept in an object field or returned from a call V8
   * does not inline becomes a heap number (measured: ~11 scavenges per 3M messages), while a
   * typed-array element is read and written in place.
   */
  readonly dueCell = new Float64Array(1);

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    readonly startNs: number,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`rate must be positive, got ${ratePerSecond}`);
    this.intervalNs = (burst * 1e9) / ratePerSecond;
    this.dueCell[0] = startNs;
  }

  /** When the current burst is due. */
  get due(): number {
    return this.startNs + this.bursts * this.intervalNs;
  }

  /** The current burst has been sent; move to the next. */
  next(): void {
    this.bursts++;
    this.dueCell[0] = this.startNs + this.bursts * this.intervalNs;
  }

  /** Bursts already due at `nowNs` and not yet sent (the backlog after a stall). */
  backlog(nowNs: number): number {
    if (nowNs < this.due) return 0;
    return Math.floor((nowNs - this.due) / this.intervalNs) + 1;
  }
}
