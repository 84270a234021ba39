/**
 * The control block the coordinator shares with a trial's workers: which phase the trial is in,
 * and what producers report when they stop. One per trial.
 *
 *   Int32 words                          Float64 slots (byte 512 on)
 *   [0] PHASE   (Phase below)            [64 + i] messages producer i sent in all
 *   [1] PRODUCERS_DONE
 *
 * The coordinator moves PHASE forward with Atomics.store + notify; workers poll it between
 * batches. A producer writes its total, then Atomics.add(PRODUCERS_DONE), which publishes it.
 */
export const Phase = { STARTING: 0, WARMUP: 1, MEASURE: 2, STOP: 3 } as const;
export type PhaseValue = (typeof Phase)[keyof typeof Phase];

export const PHASE = 0;
export const PRODUCERS_DONE = 1;
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
