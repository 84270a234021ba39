/**
 * One thread's view of the measure window: the time, CPU, scheduling and message count when it
 * first saw each phase (warm-up, MEASURE, STOP). Reading the clock and /proc happens only at
 * these edges.
 *
 * Two rules keep the edges from disturbing the loops that call observe() (checked by
 * test/jit-window.test.ts, which runs cases under --trace-opt --trace-deopt):
 * - Every edge runs the same code, the first one (entering warm-up) included. Code that first
 *   runs when the window opens has no type feedback, so V8 deoptimises the optimised loop
 *   there, runs it in the interpreter and recompiles it, for 5–20 ms of the window's start.
 * - Every figure lives in a typed array, not in object fields. A field that goes from 0 (a small
 *   integer) to a clock reading (a double), or from null to an object, or a boolean first
 *   written at an edge, changes the object's hidden class or constness, and V8 throws away the
 *   optimised code that relied on the old one ("wrong map", "code dependencies").
 */
import { writeSync } from 'node:fs';
import { nowNs } from '../metrics/clock.js';
import { threadSchedule } from '../metrics/thread-cpu.js';
import { Phase } from './control.js';

/** How the scheduler treated this thread inside the window. */
export interface WindowScheduling {
  runDelayNs: number;
  voluntarySwitches: number;
  involuntarySwitches: number;
}

/** Indexes into MeasureWindow.boundsNs. */
export const OPENED_AT = 0;
export const CLOSED_AT = 1;

/**
 * NANOMQ_MARK_EDGES=1 writes a line to stdout at each edge, to line up with V8's own trace
 * (`node --trace-opt --trace-deopt`): test/jit-window.test.ts checks that nothing is compiled or
 * deoptimised between the window's edges. Read once; the branch below runs at every edge,
 * warm-up's included, so it costs the loops nothing.
 */
const MARK_EDGES = process.env.NANOMQ_MARK_EDGES === '1';
const EDGE_NAMES = ['warm-up', 'open', 'close'];

// The edges, as slots of each figure below: entering warm-up, MEASURE (open), STOP (close).
const EDGES = 3;
const OPEN = 1;
const CLOSE = 2;
// Figures, EDGES slots each, in one Float64Array.
const PERF_MS = 0;
const COUNT = PERF_MS + EDGES;
const ON_CPU = COUNT + EDGES;
const RUN_DELAY = ON_CPU + EDGES;
const VOLUNTARY = RUN_DELAY + EDGES;
const INVOLUNTARY = VOLUNTARY + EDGES;
const CLOCK_NS = INVOLUNTARY + EDGES;
const FIGURES = CLOCK_NS + EDGES;
// Indexes into the Int32Array state.
const SEEN = 0;
const SCHEDULE_READ = 1; // + edge: 1 where /proc answered at that edge

export class MeasureWindow {
  /**
   * Called as each phase up to MEASURE begins (entering warm-up, then as the window opens).
   * Loops record into their histograms during warm-up too, so every path the window runs is
   * compiled before it; this callback resets them, so only the window counts. Calling it when
   * warm-up begins (the histograms are empty then) gives its call site type feedback too.
   */
  constructor(private readonly onOpen?: () => void) {
    this.boundsNs[CLOSED_AT] = Infinity;
  }

  private readonly figures = new Float64Array(FIGURES);
  /**
   * When this thread saw the window open and close, on the shared clock: [OPENED_AT] is 0 until
   * it opens, [CLOSED_AT] +Infinity until it closes. A view of the clock figures' open and close
   * slots, so nothing copies them. Hot loops read the cells directly (a double returned from a
   * getter V8 does not inline is a heap allocation), and compare against them during warm-up
   * too, so that comparison has type feedback before the window opens.
   */
  readonly boundsNs = this.figures.subarray(CLOCK_NS + OPEN, CLOCK_NS + CLOSE + 1);
  private readonly state = new Int32Array(1 + EDGES);

  /** Feed it the phase and this thread's running message count; cheap when nothing changed. */
  observe(phase: number, count: number): void {
    if (phase !== this.state[SEEN]) this.edge(phase, count);
  }

  /** The phase moved: record the figures at this edge (and at any edge it skipped). */
  private edge(phase: number, count: number): void {
    const seen = this.state[SEEN];
    this.state[SEEN] = phase;
    const to = Math.min(phase, Phase.STOP) - Phase.WARMUP;
    const from = Math.max(0, seen - Phase.WARMUP + 1);
    for (let slot = from; slot <= to; slot++) {
      this.record(slot, count);
      if (MARK_EDGES) writeSync(1, `\n[nanomq window ${EDGE_NAMES[slot]}]\n`);
    }
    if (phase <= Phase.MEASURE) this.onOpen?.();
  }

  private record(slot: number, count: number): void {
    const s = threadSchedule();
    // Process-wide figures first, then the clock, then the thread's own (closing in reverse).
    this.figures[PERF_MS + slot] = performance.now();
    this.figures[CLOCK_NS + slot] = nowNs();
    this.figures[COUNT + slot] = count;
    if (s === null) return;
    this.figures[ON_CPU + slot] = s.onCpuNs;
    this.figures[RUN_DELAY + slot] = s.runDelayNs;
    this.figures[VOLUNTARY + slot] = s.voluntarySwitches;
    this.figures[INVOLUNTARY + slot] = s.involuntarySwitches;
    this.state[SCHEDULE_READ + slot] = 1;
  }

  private delta(figure: number): number {
    return this.figures[figure + CLOSE] - this.figures[figure + OPEN];
  }

  /** Inside the window. */
  get measuring(): boolean {
    return this.state[SEEN] === Phase.MEASURE;
  }
  /** The window has closed. */
  get stopped(): boolean {
    return this.state[SEEN] >= Phase.STOP;
  }

  /** When this thread saw the window open and close, on the shared clock (0 until then). */
  get openedAtNs(): number {
    return this.boundsNs[OPENED_AT];
  }
  get closedAtNs(): number {
    return this.stopped ? this.boundsNs[CLOSED_AT] : 0;
  }
  /** performance.now() at the edges, for filtering this thread's GC entries to the window. */
  get startPerfMs(): number {
    return this.figures[PERF_MS + OPEN];
  }
  get endPerfMs(): number {
    return this.figures[PERF_MS + CLOSE];
  }

  get messages(): number {
    return this.stopped ? this.delta(COUNT) : 0;
  }
  get durationNs(): number {
    return this.stopped ? this.delta(CLOCK_NS) : 0;
  }
  private get schedulesRead(): boolean {
    return this.state[SCHEDULE_READ + OPEN] === 1 && this.state[SCHEDULE_READ + CLOSE] === 1;
  }
  get cpuNs(): number | null {
    return this.schedulesRead ? this.delta(ON_CPU) : null;
  }
  get scheduling(): WindowScheduling | null {
    if (!this.schedulesRead) return null;
    return {
      runDelayNs: this.delta(RUN_DELAY),
      voluntarySwitches: this.delta(VOLUNTARY),
      involuntarySwitches: this.delta(INVOLUNTARY),
    };
  }
}
