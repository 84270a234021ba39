/**
 * The ping-pong client's figures and turn, for both drivers: send a burst of `batch` requests
 * (usually 1), each stamped with its send time; every reply that comes back is checked and its
 * round trip recorded. The driver waits for the replies its own way (draining the reply queue,
 * or woken by the reply visitor), asking `outstanding` and `givenUp`.
 */
import type { BackendCounters, ClaimingSide, MessageVisitor } from '../../../implementations/contract.js';
import { nowNs } from '../../metrics/clock.js';
import { createHistogram, encodeHistogram } from '../../metrics/histogram.js';
import type { WaitCounters } from '../../results/types.js';
import { DRAIN_GRACE_NS } from '../after-stop.js';
import { type Control, Phase } from '../control.js';
import { DeliveryCheck } from '../delivery-check.js';
import { STAMP_ALL } from '../envelope-writer.js';
import type { HeldClaimRehearsal } from '../held-claim.js';
import { MeasureWindow } from '../measure-window.js';
import type { PingerTask, WorkerReport } from '../protocol.js';
import { RECEIVED, roundTripVisitor } from '../receive-visitor.js';
import { SendingPart } from './sending-part.js';
import { STOPPED } from './turn.js';
import { baseReport } from './worker-report.js';

export class RoundTrips extends SendingPart<PingerTask> {
  private readonly roundTrip = createHistogram(true);
  readonly window = new MeasureWindow(() => this.roundTrip.reset());
  private readonly check: DeliveryCheck;
  /** Hand every reply to this. */
  readonly visit: MessageVisitor;
  private readonly tally: Float64Array;
  /** Requests sent so far. */
  private seq = 0;

  constructor(task: PingerTask, requests: ClaimingSide, control: Control, rehearsal: HeldClaimRehearsal | null) {
    super(task, requests, control, rehearsal);
    this.check = new DeliveryCheck(1, task.verifyCrc);
    const { visit, tally } = roundTripVisitor(this.check, this.window, this.roundTrip);
    this.visit = visit;
    this.tally = tally;
  }

  /** One turn: STOPPED, 0 (no room for the burst) or the requests sent (turn.ts). */
  send(): number {
    const phase = this.control.phase();
    this.window.observe(phase, this.tally[RECEIVED]);
    if (phase >= Phase.STOP) return STOPPED;
    const requests = this.producer;
    const n = requests.claim(this.batch, this.length);
    if (n === 0) return 0;
    this.rehearsal?.hold();
    this.writer.write(requests, n, this.seq, STAMP_ALL);
    this.writer.stampAll(requests, n);
    requests.commit();
    this.seq += n;
    return n;
  }

  /** Replies still to come for the requests sent. */
  get outstanding(): number {
    return this.seq - this.tally[RECEIVED];
  }

  /**
   * True once STOP has come and DRAIN_GRACE_NS have passed since the burst was sent
   * (`waitingSinceNs`), however many of its replies came meanwhile: the burst is given up, and
   * the replies still out count lost.
   */
  givenUp(waitingSinceNs: number): boolean {
    return this.control.phase() >= Phase.STOP && nowNs() - waitingSinceNs > DRAIN_GRACE_NS;
  }

  /** After the last burst: tells the ponger the total, and reports round trips and delivery. */
  finish(wait: WaitCounters, counters: BackendCounters): WorkerReport {
    this.control.reportSent(0, this.seq);
    const report = baseReport(this.task, this.window, wait, counters);
    report.totalSent = this.seq;
    report.latency = encodeHistogram(this.roundTrip);
    report.delivery = this.check.report();
    this.roundTrip.destroy();
    return report;
  }
}
