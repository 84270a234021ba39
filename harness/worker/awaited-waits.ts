/**
 * The wait counters of a thread that waits by awaiting (network-roles.ts), as WaitStrategy keeps
 * them for one that polls: a stall each time the queue was found full (or the replies not yet
 * in), a sleep each time the await did not resolve at once, and how the sleep ended.
 */
import type { WaitOutcome } from '../../implementations/contract.js';
import type { WaitCounters } from '../results/types.js';

export class AwaitedWaits implements WaitCounters {
  stalls = 0;
  sleeps = 0;
  wakes = 0;
  timeouts = 0;
  record(outcome: WaitOutcome): void {
    this.stalls++;
    if (outcome === 'not-needed') return;
    this.sleeps++;
    if (outcome === 'woken') this.wakes++;
    else this.timeouts++;
  }
}
