/**
 * The consumer's figures, for both drivers: a visitor that checks each message and records its
 * latency (receive-visitor.ts), the count the after-STOP rule watches, and the report. The
 * driver only hands messages to `visit`: by draining (roles.ts) or from socket data events
 * (network-roles.ts).
 */
import type { BackendCounters, MessageVisitor } from '../../../implementations/contract.js';
import { createHistogram, encodeHistogram, type Histogram } from '../../metrics/histogram.js';
import type { WaitCounters } from '../../results/types.js';
import type { DeliveryCheck } from '../delivery-check.js';
import type { GroupDeliveryCheck } from '../group-delivery-check.js';
import { MeasureWindow } from '../measure-window.js';
import type { ConsumerTask, WorkerReport } from '../protocol.js';
import { IN_FLIGHT_AT_STOP, RECEIVED, receiveVisitor } from '../receive-visitor.js';
import { baseReport } from './worker-report.js';

export class Receiver {
  readonly window: MeasureWindow;
  readonly visit: MessageVisitor;
  private readonly tally: Float64Array;
  private readonly latency: Histogram = createHistogram(true);
  /** Rate: latency from the actual send time, beside latency from the intended one. */
  private readonly service: Histogram | null;
  private readonly isRate: boolean;

  /** `check`: this consumer's own (DeliveryCheck), or its share of a group's (GroupDeliveryCheck). */
  constructor(
    private readonly task: ConsumerTask,
    private readonly check: DeliveryCheck | GroupDeliveryCheck,
  ) {
    this.isRate = task.workload === 'rate';
    const service = this.isRate ? createHistogram(true) : null;
    this.service = service;
    const latency = this.latency;
    this.window = new MeasureWindow(() => {
      latency.reset();
      service?.reset();
    });
    const { visit, tally } = receiveVisitor(check, this.window, latency, service, this.isRate);
    this.visit = visit;
    this.tally = tally;
  }

  /** Messages handled so far. */
  get received(): number {
    return this.tally[RECEIVED];
  }

  /** Distinct messages received so far (this consumer's, or its group's). */
  get unique(): number {
    return this.check.unique;
  }

  /** After the last message: the report, with latency and delivery. Frees the histograms. */
  finish(wait: WaitCounters, counters: BackendCounters): WorkerReport {
    const report = baseReport(this.task, this.window, wait, counters);
    report.latency = encodeHistogram(this.latency);
    if (this.service !== null) report.serviceLatency = encodeHistogram(this.service);
    if (this.isRate) report.inFlightAtStop = this.tally[IN_FLIGHT_AT_STOP];
    report.delivery = this.check.report();
    this.latency.destroy();
    this.service?.destroy();
    return report;
  }
}
