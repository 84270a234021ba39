/**
 * The open-loop producer's turn (workload `rate`, wrk2-style), for both drivers: bursts of
 * `batch` messages are due every batch/rate seconds from the start, whatever happened before.
 * Each message carries its INTENDED send time, so a stall on either side shows up as latency of
 * every message that was due during it (no coordinated omission). The producer never skips
 * ahead: it sends late messages as fast as the queue takes. A turn does not wait (turn.ts):
 * between bursts it returns NOT_DUE with the time to the next in `aheadCell`, and the driver
 * sleeps its own way.
 */
import type { BackendCounters } from '../../../implementations/contract.js';
import { clockCell, nowNs, tickClock } from '../../metrics/clock.js';
import { createHistogram } from '../../metrics/histogram.js';
import type { WaitCounters } from '../../results/types.js';
import { Phase } from '../control.js';
import { STAMP_INTENDED } from '../envelope-writer.js';
import { MeasureWindow } from '../measure-window.js';
import type { ProducerTask, WorkerReport } from '../protocol.js';
import { addRateFigures, RateSchedule } from '../rate-schedule.js';
import { SendingPart } from './sending-part.js';
import { NOT_DUE, STOPPED } from './turn.js';
import { baseReport } from './worker-report.js';

/**
 * How early a driver sleeping between bursts asks to wake: the sleep's own lateness, measured
 * ~50–100 µs on these machines.
 */
export const WAKE_EARLY_NS = 110_000;

export class OpenLoopSender extends SendingPart<ProducerTask> {
  /** How long actual send times lagged intended ones, per message. */
  private readonly sendLag = createHistogram(true);
  readonly window = new MeasureWindow(() => this.sendLag.reset());
  /**
   * [0]: after NOT_DUE, nanoseconds until the next burst is due. In a typed array, not a field:
   * a double stored in an object field is a heap number per store (rate-schedule.ts).
   */
  readonly aheadCell = new Float64Array(1);
  private schedule: RateSchedule | null = null;
  private seq = 0;

  /** Starts the schedule now (at WARMUP). Each producer carries its share of the rate. */
  start(): void {
    const { rate, producers } = this.task.params;
    this.schedule = new RateSchedule(rate! / producers, this.batch, nowNs());
  }

  /** One turn: STOPPED, NOT_DUE, 0 (the queue is full) or the messages sent (turn.ts). */
  turn(): number {
    const phase = this.control.phase();
    const window = this.window;
    window.observe(phase, this.seq);
    if (phase >= Phase.STOP) return STOPPED;
    const schedule = this.schedule!;
    const intended = schedule.dueCell[0];
    tickClock();
    const ahead = intended - clockCell[0];
    if (ahead > 0) {
      this.aheadCell[0] = ahead;
      return NOT_DUE;
    }
    const producer = this.producer;
    const n = producer.claim(schedule.remaining, this.length);
    if (n === 0) return 0;
    this.rehearsal?.hold();
    const writer = this.writer;
    writer.times[0] = intended;
    writer.write(producer, n, this.seq, STAMP_INTENDED);
    // The actual send time is taken at publish, after the batch is filled.
    writer.stampSentAt(producer, n);
    producer.commit();
    if (!window.stopped) this.sendLag.recordValueWithCount(Math.max(0, writer.times[1] - intended), n);
    this.seq += n;
    schedule.sent(n);
    return n;
  }

  /** After the last turn (and the driver's last flush): tells the consumers the total, and reports. */
  finish(wait: WaitCounters, counters: BackendCounters): WorkerReport {
    this.control.reportSent(this.task.index, this.seq);
    const report = baseReport(this.task, this.window, wait, counters);
    addRateFigures(report, this.schedule!, this.window, this.sendLag, this.seq);
    return report;
  }
}
