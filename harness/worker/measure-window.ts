/**
 * One thread's view of the measure window: the time, CPU and message count when it first saw
 * MEASURE and when it first saw STOP. Reading the clock and /proc happens only at these edges.
 */
import { nowNs } from '../metrics/clock.js';
import { threadCpuNs } from '../metrics/thread-cpu.js';
import { Phase } from './control.js';

export class MeasureWindow {
  measuring = false;
  stopped = false;
  private startNs = 0;
  private endNs = 0;
  private startCpu: number | null = null;
  private endCpu: number | null = null;
  private startCount = 0;
  private endCount = 0;
  private seen: number = Phase.WARMUP;

  /** Feed it the phase and this thread's running message count; cheap when nothing changed. */
  observe(phase: number, count: number): void {
    if (phase === this.seen) return;
    if (phase >= Phase.MEASURE && this.seen < Phase.MEASURE) {
      this.startNs = nowNs();
      this.startCpu = threadCpuNs();
      this.startCount = count;
      this.measuring = true;
    }
    if (phase >= Phase.STOP && this.seen < Phase.STOP) {
      this.endNs = nowNs();
      this.endCpu = threadCpuNs();
      this.endCount = count;
      this.measuring = false;
      this.stopped = true;
    }
    this.seen = phase;
  }

  get messages(): number {
    return this.endCount - this.startCount;
  }
  get durationNs(): number {
    return this.endNs - this.startNs;
  }
  get cpuNs(): number | null {
    return this.startCpu === null || this.endCpu === null ? null : this.endCpu - this.startCpu;
  }
}
