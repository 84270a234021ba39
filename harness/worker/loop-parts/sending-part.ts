/**
 * What every sending part holds (the closed- and open-loop senders, the ping-pong client): the
 * producer it claims on, an envelope writer for its records, and the warm-up rehearsal of a
 * held claim (held-claim.ts; null for network clients, whose claim is their own send buffer
 * and never seen by a consumer before commit).
 */
import type { ClaimingSide } from '../../../implementations/contract.js';
import { HEADER_BYTES } from '../../../wire/envelope.js';
import type { Control } from '../control.js';
import { EnvelopeWriter } from '../envelope-writer.js';
import type { HeldClaimRehearsal } from '../held-claim.js';
import type { PingerTask, ProducerTask } from '../protocol.js';

export abstract class SendingPart<T extends ProducerTask | PingerTask> {
  protected readonly writer: EnvelopeWriter;
  /** Bytes of one record: header and payload. */
  protected readonly length: number;
  /** Most records one claim asks for (a burst, for the open-loop sender's schedule). */
  protected readonly batch: number;

  constructor(
    protected readonly task: T,
    protected readonly producer: ClaimingSide,
    protected readonly control: Control,
    protected readonly rehearsal: HeldClaimRehearsal | null,
  ) {
    // A ping-pong client is the only producer of its queue: producer 0, as the ponger checks.
    const producerId = task.role === 'pinger' ? 0 : task.index;
    this.writer = new EnvelopeWriter({ producerId, payload: task.params.payload, verifyCrc: task.verifyCrc });
    this.length = HEADER_BYTES + task.params.payload;
    this.batch = task.params.batch;
  }
}
