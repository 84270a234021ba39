/**
 * What a thread does when its queue is full (producer) or empty (consumer): a scenario
 * dimension, so the same loop can be measured spinning, parking or blocking.
 *
 *   spin   poll again at once (lowest latency, burns a core)
 *   park   poll up to PARK_SPINS times, then sleep on the queue's event count with a short
 *          timeout (PARK_TIMEOUT_MS); the other side's notify ends the sleep early
 *   block  sleep on the event count until notified; BLOCK_TIMEOUT_MS only bounds how late a
 *          sleeping thread notices the end of a trial
 */
import type { WaitOutcome } from '../../implementations/contract.js';
import type { WaitCounters } from '../results/types.js';
import type { WaitStrategyName } from '../scenario/schema.js';

export const PARK_SPINS = 2000;
export const PARK_TIMEOUT_MS = 1;
export const BLOCK_TIMEOUT_MS = 100;

export class WaitStrategy {
  readonly counters: WaitCounters = { stalls: 0, sleeps: 0, wakes: 0, timeouts: 0 };
  private spins = 0;

  constructor(readonly kind: WaitStrategyName) {}

  /** Called each time the queue is full or empty; `sleep` waits on the queue's event count. */
  stall(sleep: (timeoutMs: number) => WaitOutcome): void {
    this.counters.stalls++;
    if (this.kind === 'spin') return;
    if (this.kind === 'park') {
      if (++this.spins < PARK_SPINS) return;
      this.spins = 0;
      this.record(sleep(PARK_TIMEOUT_MS));
      return;
    }
    this.record(sleep(BLOCK_TIMEOUT_MS));
  }

  /** Called after progress, so `park` spins afresh next time. */
  progressed(): void {
    this.spins = 0;
  }

  private record(outcome: WaitOutcome): void {
    if (outcome === 'not-needed') return;
    this.counters.sleeps++;
    if (outcome === 'woken') this.counters.wakes++;
    else this.counters.timeouts++;
  }
}
