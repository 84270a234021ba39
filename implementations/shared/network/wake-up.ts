/**
 * One waiter on the event loop, woken by whoever makes progress (a reply, an acknowledgement)
 * or by a timeout: how a network producer waits for room that replies on its own socket make.
 */
import type { WaitOutcome } from '../../contract.js';

export class WakeUp {
  private waiter: (() => void) | null = null;

  /** Called on progress; wakes the waiter, if any. */
  wake(): void {
    if (this.waiter === null) return;
    const w = this.waiter;
    this.waiter = null;
    w();
  }

  async wait(timeoutMs: number): Promise<WaitOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await new Promise<WaitOutcome>((resolve) => {
      this.waiter = () => resolve('woken');
      timer = setTimeout(() => resolve('timed-out'), timeoutMs);
    });
    clearTimeout(timer);
    this.waiter = null;
    return outcome;
  }
}
