/**
 * Writes harness envelopes into a producer's claimed records: header, payload pattern, the
 * sequence stamped over the first payload word, and the CRC32 when the scenario verifies it.
 */
import type { Producer } from '../../implementations/contract.js';
import { EnvelopeCodec, Flags, HEADER_BYTES, payloadCrc } from '../../implementations/envelope.js';

/** Payload bytes for one producer: a fixed pattern; the harness stamps the sequence over the first word. */
function payloadTemplate(bytes: number, producer: number): Uint8Array {
  const t = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) t[i] = (i * 31 + producer * 7 + 1) & 0xff;
  return t;
}

/** Writes envelopes into a producer's claimed records. */
export class EnvelopeWriter {
  private codec: EnvelopeCodec | null = null;
  private readonly template: Uint8Array;

  constructor(
    private readonly producerId: number,
    private readonly payload: number,
    private readonly verifyCrc: boolean,
  ) {
    this.template = payloadTemplate(payload, producerId);
  }

  /**
   * Sets the timestamp of record 0 of the last claim (flagged TIMESTAMPED by `write`). Called
   * just before commit, so the time is taken when the batch is about to become visible, not
   * before it was filled: a batched message's latency is then queue time plus the receiver's
   * walk to it, and excludes the time its producer spent filling the rest of the batch.
   */
  stampFirst(producer: Producer, timestampNs: number): void {
    this.codec!.setTimestamp(producer.offsetOf(0), timestampNs);
  }

  /** Sets the timestamp of record i of the last claim (ping-pong stamps every request). */
  stampAt(producer: Producer, i: number, timestampNs: number): void {
    this.codec!.setTimestamp(producer.offsetOf(i), timestampNs);
  }

  /** Sets the actual send time of records 0..n-1 (rate workload), just before commit. */
  stampSentAt(producer: Producer, n: number, sentAtNs: number): void {
    const codec = this.codec!;
    for (let i = 0; i < n; i++) codec.setSentAt(producer.offsetOf(i), sentAtNs);
  }

  /** Fills records 0..n-1 of the last claim; the first carries timestamps when given (non-zero). */
  write(producer: Producer, n: number, firstSeq: number, timestampNs: number, sentAtNs: number, stampAll: boolean): void {
    const buffer = producer.buffer;
    let codec = this.codec;
    if (codec === null || codec.bytes !== buffer) codec = this.codec = new EnvelopeCodec(buffer);
    const payload = this.payload;
    let flags = this.verifyCrc ? Flags.HAS_CRC : 0;
    if (sentAtNs !== 0) flags |= Flags.SENT_AT;
    for (let i = 0; i < n; i++) {
      const offset = producer.offsetOf(i);
      const seq = firstSeq + i;
      if (payload > 0) {
        buffer.set(this.template, offset + HEADER_BYTES);
        if (payload >= 4) codec.stampSequence(offset, seq);
      }
      const crc = this.verifyCrc ? payloadCrc(buffer, offset + HEADER_BYTES, payload) : 0;
      const stamped = timestampNs !== 0 && (stampAll || i === 0);
      codec.writeHeader(offset, this.producerId, seq, stamped ? timestampNs : 0, payload, stamped ? flags | Flags.TIMESTAMPED : flags, crc, sentAtNs);
    }
  }
}

