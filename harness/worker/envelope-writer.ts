/**
 * Writes harness envelopes into a producer's claimed records: header, payload pattern, the
 * sequence stamped over the first payload word, and the CRC32 when the scenario verifies it.
 */
import type { ClaimedRecords } from '../../implementations/contract.js';
import { EnvelopeCodec, Flags, HEADER_BYTES, payloadCrcBits, TWO_32, W_SENT_LO, W_TS_LO } from '../../wire/envelope.js';
import { clockCell, tickClock } from '../metrics/clock.js';

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

  private readonly producerId: number;
  private readonly payload: number;
  private readonly verifyCrc: boolean;

  /** `producerId`: the id stamped into every header; `payload`: bytes after the header; `verifyCrc`: write each payload's CRC32. */
  constructor(options: { producerId: number; payload: number; verifyCrc: boolean }) {
    this.producerId = options.producerId;
    this.payload = options.payload;
    this.verifyCrc = options.verifyCrc;
    this.template = payloadTemplate(this.payload, this.producerId);
  }

  /**
   * Times handed to and from the writer through this array, not as arguments or return values:
   * a double passed into or returned from a call V8 does not inline is boxed into a heap number,
   * an allocation per call in the measured loop. [0]: the intended send time (STAMP_INTENDED);
   * [1]: the time the last stamp took (the rate producer reads it after `stampSentAt`).
   */
  readonly times = new Float64Array(2);

  /**
   * Sets the timestamp of record 0 of the last claim (flagged by `write` with STAMP_FIRST) to
   * now. Called just before commit, so the time is taken when the batch is about to become
   * visible, not before it was filled: a batched message's latency is then its time in the queue
   * plus the receiver's walk to it, and excludes its producer filling the rest of the batch.
   */
  stampFirst(producer: ClaimedRecords): void {
    this.stampNow(producer, 1, W_TS_LO);
  }

  /** Sets the timestamp of records 0..n-1 to now (ping-pong stamps every request). */
  stampAll(producer: ClaimedRecords, n: number): void {
    this.stampNow(producer, n, W_TS_LO);
  }

  /** Sets the actual send time of records 0..n-1 to now (rate workload); leaves it in times[1]. */
  stampSentAt(producer: ClaimedRecords, n: number): void {
    this.stampNow(producer, n, W_SENT_LO);
  }

  /** Writes now into header time `word` of records 0..n-1, and into times[1] (returned there, not boxed). */
  private stampNow(producer: ClaimedRecords, n: number, word: number): void {
    tickClock();
    const now = clockCell[0];
    const lo = now | 0;
    const hi = (now / TWO_32) | 0;
    const codec = this.codec!;
    for (let i = 0; i < n; i++) codec.setTimeParts(producer.offsetOf(i), word, lo, hi);
    this.times[1] = now;
  }

  /**
   * Fills records 0..n-1 of the last claim. `stamp`: STAMP_NONE; STAMP_FIRST (record 0 is
   * TIMESTAMPED, its time set by stampFirst at publish); STAMP_ALL (every record TIMESTAMPED,
   * times set by stampAll); STAMP_INTENDED (every record TIMESTAMPED with times[0], the intended
   * send time, and SENT_AT, set by stampSentAt at publish).
   */
  write(producer: ClaimedRecords, n: number, firstSeq: number, stamp: number): void {
    const buffer = producer.buffer;
    let codec = this.codec;
    if (codec === null || codec.bytes !== buffer) codec = this.codec = new EnvelopeCodec(buffer);
    const payload = this.payload;
    const base = this.verifyCrc ? Flags.HAS_CRC : 0;
    const intended = this.times[0];
    const intendedLo = intended | 0;
    const intendedHi = (intended / TWO_32) | 0;
    const stampedFlags = base | Flags.TIMESTAMPED | (stamp === STAMP_INTENDED ? Flags.SENT_AT : 0);
    for (let i = 0; i < n; i++) {
      const offset = producer.offsetOf(i);
      const seq = firstSeq + i;
      if (payload > 0) {
        buffer.set(this.template, offset + HEADER_BYTES);
        if (payload >= 4) codec.stampSequence(offset, seq);
      }
      const crc = this.verifyCrc ? payloadCrcBits(buffer, offset + HEADER_BYTES, payload) : 0;
      const stamped = stamp === STAMP_ALL || stamp === STAMP_INTENDED || (stamp === STAMP_FIRST && i === 0);
      codec.writeHeader(offset, this.producerId, seq, 0, payload, stamped ? stampedFlags : base, crc, 0);
      if (stamp === STAMP_INTENDED) codec.setTimestampParts(offset, intendedLo, intendedHi);
    }
  }
}

export const STAMP_NONE = 0;
export const STAMP_FIRST = 1;
export const STAMP_ALL = 2;
export const STAMP_INTENDED = 3;
