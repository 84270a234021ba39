/**
 * The ping-pong server's figures and visitor, for both drivers: check every request and echo
 * it, as it came, onto the reply queue. Only claiming room for the reply is the driver's
 * (`claimReply`: roles.ts waits for space; network-roles.ts fails the trial if the reply
 * publisher has no credit, which a burst of at most 4096 cannot use up).
 */
import type { BackendCounters, ClaimingSide, MessageVisitor } from '../../../implementations/contract.js';
import type { WaitCounters } from '../../results/types.js';
import { DeliveryCheck } from '../delivery-check.js';
import { MeasureWindow } from '../measure-window.js';
import type { PongerTask, WorkerReport } from '../protocol.js';
import { copyBytes } from './copy-bytes.js';
import { baseReport } from './worker-report.js';

export class Echoer {
  readonly window = new MeasureWindow();
  private readonly check: DeliveryCheck;
  /** Hand every request to this. */
  readonly visit: MessageVisitor;
  /** [0]: requests echoed so far (a typed-array cell: the visitor updates it per message). */
  private readonly echoedCell = new Float64Array(1);

  /** `claimReply(length)`: leaves a claim of one record of `length` bytes open on `replies`, or throws. */
  constructor(
    private readonly task: PongerTask,
    replies: ClaimingSide,
    claimReply: (length: number) => void,
  ) {
    const check = new DeliveryCheck(1, task.verifyCrc);
    this.check = check;
    const echoed = this.echoedCell;
    this.visit = (bytes, offset, length) => {
      check.check(bytes, offset, length);
      claimReply(length);
      copyBytes(bytes, offset, replies.buffer, replies.offsetOf(0), length);
      replies.commit();
      echoed[0]++;
    };
  }

  /** Requests echoed so far. */
  get echoed(): number {
    return this.echoedCell[0];
  }

  get unique(): number {
    return this.check.unique;
  }

  finish(wait: WaitCounters, counters: BackendCounters): WorkerReport {
    const report = baseReport(this.task, this.window, wait, counters);
    report.delivery = this.check.report();
    return report;
  }
}
