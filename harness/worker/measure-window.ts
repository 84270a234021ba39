/**
 * One thread's view of the measure window: the time, CPU, scheduling and message count when it
 * first saw MEASURE and when it first saw STOP. Reading the clock and /proc happens only at
 * these edges.
 */
import { nowNs } from '../metrics/clock.js';
import { threadSchedule, type ThreadSchedule } from '../metrics/thread-cpu.js';
import { Phase } from './control.js';

/** How the scheduler treated this thread inside the window. */
export interface WindowScheduling {
  runDelayNs: number;
  voluntarySwitches: number;
  involuntarySwitches: number;
}

export class MeasureWindow {
  /**
   * Called once, as the window opens. Loops record into their histograms during warm-up too, so
   * every path the window runs is compiled before it (a first record inside the window would
   * compile or deoptimise there); this callback then resets them, so only the window counts.
   */
  constructor(private readonly onOpen?: () => void) {}

  measuring = false;
  stopped = false;
  private startNs = 0;
  private endNs = 0;
  private startSchedule: ThreadSchedule | null = null;
  private endSchedule: ThreadSchedule | null = null;
  /** performance.now() at the edges, for filtering this thread's GC entries to the window. */
  startPerfMs = 0;
  endPerfMs = 0;
  private startCount = 0;
  private endCount = 0;
  private seen: number = Phase.WARMUP;

  /** Feed it the phase and this thread's running message count; cheap when nothing changed. */
  observe(phase: number, count: number): void {
    if (phase === this.seen) return;
    if (phase >= Phase.MEASURE && this.seen < Phase.MEASURE) {
      this.startSchedule = threadSchedule();
      this.startPerfMs = performance.now();
      this.startNs = nowNs();
      this.startCount = count;
      this.measuring = true;
      this.onOpen?.();
    }
    if (phase >= Phase.STOP && this.seen < Phase.STOP) {
      this.endNs = nowNs();
      this.endPerfMs = performance.now();
      this.endSchedule = threadSchedule();
      this.endCount = count;
      this.measuring = false;
      this.stopped = true;
    }
    this.seen = phase;
  }

  /** When this thread saw the window open and close, on the shared clock (0 until then). */
  get openedAtNs(): number {
    return this.startNs;
  }
  get closedAtNs(): number {
    return this.endNs;
  }

  get messages(): number {
    return this.endCount - this.startCount;
  }
  get durationNs(): number {
    return this.endNs - this.startNs;
  }
  get cpuNs(): number | null {
    return this.startSchedule === null || this.endSchedule === null ? null : this.endSchedule.onCpuNs - this.startSchedule.onCpuNs;
  }
  get scheduling(): WindowScheduling | null {
    const a = this.startSchedule;
    const b = this.endSchedule;
    if (a === null || b === null) return null;
    return {
      runDelayNs: b.runDelayNs - a.runDelayNs,
      voluntarySwitches: b.voluntarySwitches - a.voluntarySwitches,
      involuntarySwitches: b.involuntarySwitches - a.involuntarySwitches,
    };
  }
}
