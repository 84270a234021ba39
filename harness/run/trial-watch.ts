/**
 * The three ways a trial ends before its work does: a worker fails, the scenario's `timeout`
 * passes, or the run is interrupted. Every wait for the workers and every sleep of the window
 * races all three (`race`), so none of them can leave the coordinator waiting on a worker that
 * will never answer (terminating a killed member is not raced: terminate always ends). `phase` names
 * where the trial was, for the time-out's message. `dispose` clears the timer and the signal's
 * listener (one per trial would pile up over a long suite).
 */
export class TrialFailure extends Error {}

export class TrialWatch {
  /** Where the trial is, for the time-out's message. */
  phase = 'starting';
  private failWith: (error: Error) => void = () => {};
  private readonly failed: Promise<never>;
  private readonly timedOut: Promise<never>;
  private readonly interrupted: Promise<never>;
  private timer: NodeJS.Timeout | undefined;
  private onAbort: (() => void) | undefined;

  constructor(
    timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.failWith = reject));
    this.timedOut = new Promise<never>((_, reject) => {
      this.timer = setTimeout(() => reject(new TrialFailure(`timed out after ${timeoutMs / 1000}s (in ${this.phase})`)), timeoutMs);
    });
    this.interrupted = new Promise<never>((_, reject) => {
      if (signal?.aborted) reject(new TrialFailure('interrupted'));
      this.onAbort = () => reject(new TrialFailure('interrupted'));
      signal?.addEventListener('abort', this.onAbort, { once: true });
    });
    // Each is awaited only through race: a rejection nobody raced yet is not unhandled.
    for (const p of [this.failed, this.timedOut, this.interrupted]) p.catch(() => {});
  }

  /** A worker failed: every race from now on (and the one running) ends with this error. */
  fail(error: Error): void {
    this.failWith(error);
  }

  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failed, this.timedOut, this.interrupted]);
  }

  dispose(): void {
    clearTimeout(this.timer);
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
  }
}
