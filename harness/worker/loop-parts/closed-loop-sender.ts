/**
 * The closed-loop producer's turn (workload `throughput`), for both drivers: look at the phase,
 * claim up to a batch, fill it, stamp one message in TIMESTAMP_EVERY with its send time, commit.
 * As fast as the queue takes: a turn does not wait for room, it returns 0 when the queue is full
 * (turn.ts).
 */
import type { BackendCounters } from '../../../implementations/contract.js';
import { TIMESTAMP_EVERY } from '../../results/method.js';
import type { WaitCounters } from '../../results/types.js';
import { Phase } from '../control.js';
import { STAMP_FIRST, STAMP_NONE } from '../envelope-writer.js';
import { MeasureWindow } from '../measure-window.js';
import type { ProducerTask, WorkerReport } from '../protocol.js';
import { SendingPart } from './sending-part.js';
import { STOPPED } from './turn.js';
import { baseReport } from './worker-report.js';

export class ClosedLoopSender extends SendingPart<ProducerTask> {
  readonly window = new MeasureWindow();
  /** Messages sent so far; the next message's sequence number. */
  private seq = 0;
  private lastStamp = -TIMESTAMP_EVERY;

  /** One turn: STOPPED, 0 (the queue is full) or the messages sent (turn.ts). */
  turn(): number {
    const phase = this.control.phase();
    this.window.observe(phase, this.seq);
    if (phase >= Phase.STOP) return STOPPED;
    const producer = this.producer;
    const n = producer.claim(this.batch, this.length);
    if (n === 0) return 0;
    this.rehearsal?.hold();
    const seq = this.seq;
    const stamp = seq - this.lastStamp >= TIMESTAMP_EVERY;
    if (stamp) this.lastStamp = seq;
    this.writer.write(producer, n, seq, stamp ? STAMP_FIRST : STAMP_NONE);
    // The timestamp is taken last, as the batch is published.
    if (stamp) this.writer.stampFirst(producer);
    producer.commit();
    this.seq = seq + n;
    return n;
  }

  /** After the last turn (and the driver's last flush): tells the consumers the total, and reports. */
  finish(wait: WaitCounters, counters: BackendCounters): WorkerReport {
    this.control.reportSent(this.task.index, this.seq);
    const report = baseReport(this.task, this.window, wait, counters);
    report.totalSent = this.seq;
    return report;
  }
}
