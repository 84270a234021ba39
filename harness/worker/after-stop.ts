/**
 * The rule every consumer follows after STOP, whatever waits for it (the in-process drain loop,
 * the network consumer's watch): go on taking messages until every message the producers report
 * having sent is in (counted once each), or until none has arrived for DRAIN_GRACE_NS. A consumer
 * never ends at STOP itself: what was in flight then still belongs to the delivery check, and a
 * message that never comes is counted lost, not left out.
 */
import { nowNs } from '../metrics/clock.js';
import type { Control } from './control.js';

/** After STOP, how long a side waits without progress for messages still in flight. */
export const DRAIN_GRACE_NS = 2e9;

export class AfterStop {
  private lastProgress = 0;
  private lastCount = -1;

  /** `graceNs`: how long without progress before the rest counts lost (DRAIN_GRACE_NS; tests pass less). */
  constructor(
    private readonly control: Control,
    private readonly producers: number,
    private readonly graceNs = DRAIN_GRACE_NS,
  ) {}

  /**
   * One look after STOP. `count`: messages this side has handled so far (progress is a count
   * that moved since the last look, however the messages came); `unique`: distinct messages
   * received so far. True when the consumer is done.
   */
  done(count: number, unique: number): boolean {
    const now = nowNs();
    if (count !== this.lastCount || this.lastProgress === 0) this.lastProgress = now;
    this.lastCount = count;
    if (this.control.producersDone() === this.producers && unique >= this.control.totalSent(this.producers)) return true;
    return now - this.lastProgress > this.graceNs;
  }
}
