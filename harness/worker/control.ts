/**
 * The control block the coordinator shares with a trial's workers: which phase the trial is in,
 * and what producers report when they stop. One per trial.
 *
 *   Int32 words                          Float64 slots (byte 512 on)
 *   [0] PHASE   (Phase below)            [64 + i] messages producer i sent in all
 *   [1] PRODUCERS_DONE
 *   [2] FILLED  (a producer found the queue full: see awaitFilled)
 *   [3] EMPTIED (the consumer found the queue empty: see awaitEmptied)
 *
 * The coordinator moves PHASE forward with Atomics.store + notify; workers poll it between
 * batches. A producer writes its total, then Atomics.add(PRODUCERS_DONE), which publishes it.
 */
export const Phase = { STARTING: 0, WARMUP: 1, MEASURE: 2, STOP: 3 } as const;
export type PhaseValue = (typeof Phase)[keyof typeof Phase];

export const PHASE = 0;
export const PRODUCERS_DONE = 1;
const FILLED = 2;
const EMPTIED = 3;
/** Longest a consumer holds back at the start of warm-up for the queue to fill once (and a producer, then, for it to empty). */
const FILL_WAIT_MS = 100;
const SENT_SLOT = 64;
export const MAX_PRODUCERS = 64;
export const CONTROL_BYTES = 512 + 8 * MAX_PRODUCERS;

export class Control {
  readonly words: Int32Array;
  private readonly totals: Float64Array;

  constructor(readonly memory: SharedArrayBuffer) {
    this.words = new Int32Array(memory);
    this.totals = new Float64Array(memory);
  }

  static create(): Control {
    return new Control(new SharedArrayBuffer(CONTROL_BYTES));
  }

  phase(): number {
    return Atomics.load(this.words, PHASE);
  }

  setPhase(phase: PhaseValue): void {
    Atomics.store(this.words, PHASE, phase);
    Atomics.notify(this.words, PHASE);
  }

  /** Blocks the calling worker until the phase is at least `phase`. */
  awaitPhase(phase: PhaseValue): void {
    for (;;) {
      const now = Atomics.load(this.words, PHASE);
      if (now >= phase) return;
      Atomics.wait(this.words, PHASE, now, 100);
    }
  }

  /** A producer found the queue full (the first time is enough). */
  markFilled(): void {
    Atomics.store(this.words, FILLED, 1);
  }

  /**
   * Called by a closed-loop consumer as warm-up begins: it holds back until a producer has found
   * the queue full once (at most FILL_WAIT_MS, and never past warm-up). Where the consumer
   * outruns the producer, the producer otherwise meets a full queue for the first time only
   * when the consumer is preempted, which may be inside the window, and the backend's full-queue
   * path and the producer's stall are then compiled there, deoptimising the producer's loop
   * (seen with --trace-deopt: sab-spsc's claim, "insufficient type feedback", mid-window).
   */
  awaitFilled(): void {
    this.awaitFlag(FILLED);
  }

  /** The consumer found the queue empty (the first time is enough). */
  markEmptied(): void {
    Atomics.store(this.words, EMPTIED, 1);
  }

  /**
   * The mirror of awaitFilled, called by a closed-loop producer when it first finds the queue
   * full: it holds back until the consumer has found the queue empty once (at most
   * FILL_WAIT_MS, never past warm-up). Where the producer outruns the consumer, the consumer
   * otherwise meets an empty queue for the first time only when the producer is preempted,
   * which may be inside the window, and its empty-queue path is compiled there (seen with
   * --trace-deopt: drainLoop, "insufficient type feedback", once sab-spsc's zeroing made its
   * producer the faster side).
   */
  awaitEmptied(): void {
    this.awaitFlag(EMPTIED);
  }

  /** Whether the consumer has found the queue empty yet (see HeldClaimRehearsal). */
  emptied(): boolean {
    return Atomics.load(this.words, EMPTIED) !== 0;
  }

  /** Waits until `word` is set, at most FILL_WAIT_MS, and never past warm-up. */
  private awaitFlag(word: number): void {
    const until = performance.now() + FILL_WAIT_MS;
    while (Atomics.load(this.words, word) === 0 && this.phase() < Phase.MEASURE && performance.now() < until) {
      Atomics.wait(this.words, word, 0, 1);
    }
  }

  reportSent(producer: number, total: number): void {
    this.totals[SENT_SLOT + producer] = total;
    Atomics.add(this.words, PRODUCERS_DONE, 1);
  }

  producersDone(): number {
    return Atomics.load(this.words, PRODUCERS_DONE);
  }

  /** Sum of what producers reported; read only after producersDone() says they all did. */
  totalSent(producers: number): number {
    let sum = 0;
    for (let i = 0; i < producers; i++) sum += this.totals[SENT_SLOT + i];
    return sum;
  }
}
