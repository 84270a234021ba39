/**
 * Checks, on the consumer, that every message arrives exactly once, in order and intact.
 * Each producer numbers its messages 0, 1, 2, …; per producer the consumer expects the next one.
 *
 * - seq == expected: in order.
 * - seq  > expected: the ones in between are missing for now (remembered, up to a bound).
 * - seq  < expected: a late arrival of a remembered missing one (reordered) or a duplicate.
 * Lost = sent − (received − duplicated), once producers report how many they sent.
 * Corrupt: bad magic, a length that disagrees with the record, an unknown producer, a payload
 * whose stamped sequence disagrees with the header, or a CRC32 mismatch (verify: crc).
 */
import {
  EnvelopeCodec,
  Flags,
  HEADER_BYTES,
  MAGIC,
  payloadCrc,
  payloadCrcBits,
  TWO_32,
  W_CRC,
  W_FLAGS_PRODUCER,
  W_LENGTH,
  W_MAGIC,
  W_PAYLOAD,
  W_SEQ_HI,
  W_SEQ_LO,
} from '../../wire/envelope.js';

const MAX_REMEMBERED_GAPS = 1_000_000;

export interface DeliveryCounts {
  received: number;
  duplicated: number;
  reordered: number;
  corrupt: number;
}

/** The counts every delivery check keeps, and the first few problems in words. */
export abstract class DeliveryTally implements DeliveryCounts {
  received = 0;
  duplicated = 0;
  reordered = 0;
  corrupt = 0;
  /** First few problems in words, for the failure reason. */
  readonly problems: string[] = [];

  counts(): DeliveryCounts {
    return { received: this.received, duplicated: this.duplicated, reordered: this.reordered, corrupt: this.corrupt };
  }

  /** The counts and the problems, as a worker's report carries them. */
  report(): DeliveryCounts & { problems: string[] } {
    return { ...this.counts(), problems: this.problems };
  }

  protected fail(producer: number, problem: string): number {
    this.corrupt++;
    this.note(problem);
    return producer;
  }

  protected note(problem: string): void {
    if (this.problems.length < 5) this.problems.push(problem);
  }
}

export class DeliveryCheck extends DeliveryTally {
  private readonly expected: Float64Array;
  private readonly missing: (Set<number> | undefined)[];

  constructor(
    private readonly producers: number,
    private readonly verifyCrc: boolean,
  ) {
    super();
    this.expected = new Float64Array(producers);
    this.missing = new Array(producers);
  }

  /** Unique messages received: the figure compared with what producers sent. */
  get unique(): number {
    return this.received - this.duplicated;
  }

  /**
   * A codec over the buffer of the last message checked, kept here for every caller (the one
   * codec per buffer; made again only when a message arrives in another buffer). Callers read
   * the header's other fields through it after check(). Starts over an empty buffer, not null,
   * so the field's type never changes under the optimised loops.
   */
  codec = new EnvelopeCodec(new Uint8Array(0));

  /** Checks the message at `offset` in `bytes`; returns its producer id, or -1 when it is too damaged to attribute. */
  check(bytes: Uint8Array, offset: number, length: number): number {
    let codec = this.codec;
    if (codec.bytes !== bytes) codec = this.codec = new EnvelopeCodec(bytes);
    const w = codec.words;
    // Fast path: in-order, intact, 4-aligned: a handful of word reads, no calls.
    if (w !== null && (offset & 3) === 0 && length >= HEADER_BYTES) {
      const i = offset >>> 2;
      const flagsProducer = w[i + W_FLAGS_PRODUCER];
      const producer = flagsProducer >>> 16;
      const payloadLength = w[i + W_LENGTH];
      const lo = w[i + W_SEQ_LO];
      if (
        w[i + W_MAGIC] === MAGIC &&
        producer < this.producers &&
        payloadLength + HEADER_BYTES === length &&
        lo + w[i + W_SEQ_HI] * TWO_32 === this.expected[producer] &&
        (payloadLength < 4 || w[i + W_PAYLOAD] === lo) &&
        // verify: crc checks here too: the slow path makes an object per message, and at
        // millions a second its garbage collections halved sab-spsc's throughput.
        (!this.verifyCrc || (flagsProducer & Flags.HAS_CRC) === 0 || payloadCrcBits(codec.bytes, offset + HEADER_BYTES, payloadLength) === (w[i + W_CRC] | 0))
      ) {
        this.received++;
        this.expected[producer]++;
        return producer;
      }
    }
    return this.checkSlowly(codec, offset, length);
  }

  private checkSlowly(codec: EnvelopeCodec, offset: number, length: number): number {
    this.received++;
    const { producer, problem, headerIntact } = inspectEnvelope(codec, offset, length, this.producers, this.verifyCrc);
    if (problem !== null) {
      this.fail(producer, problem);
      // A damaged payload under an intact header still takes its place in the sequence.
      if (!headerIntact) return producer;
    }
    const seq = codec.sequence(offset);
    const expected = this.expected[producer];
    if (seq === expected) {
      this.expected[producer] = seq + 1;
    } else if (seq > expected) {
      this.note(`producer ${producer}: expected seq ${expected}, got ${seq}`);
      let gaps = this.missing[producer];
      if (gaps === undefined) gaps = this.missing[producer] = new Set();
      for (let s = expected; s < seq && gaps.size < MAX_REMEMBERED_GAPS; s++) gaps.add(s);
      this.expected[producer] = seq + 1;
    } else if (this.missing[producer]?.delete(seq)) {
      this.reordered++;
      this.note(`producer ${producer}: seq ${seq} arrived after later ones`);
    } else {
      this.duplicated++;
      this.note(`producer ${producer}: seq ${seq} delivered again`);
    }
    return producer;
  }
}

/**
 * What is wrong with the envelope at `offset`, if anything: a missing header, an unknown
 * producer, a length that disagrees with the record, a payload whose stamped sequence disagrees
 * with the header, or (verifyCrc) a CRC32 mismatch. `producer` is -1 when it cannot be told.
 * Shared by every delivery check, so they agree on what "corrupt" means.
 */
export function inspectEnvelope(
  codec: EnvelopeCodec,
  offset: number,
  length: number,
  producers: number,
  verifyCrc: boolean,
): { producer: number; problem: string | null; headerIntact: boolean } {
  const broken = (producer: number, problem: string) => ({ producer, problem, headerIntact: false });
  if (length < HEADER_BYTES || codec.magic(offset) !== MAGIC) return broken(-1, `record of ${length} bytes without a valid header`);
  const producer = codec.producerId(offset);
  if (producer >= producers) return broken(-1, `unknown producer id ${producer}`);
  const payloadLength = codec.payloadLength(offset);
  if (payloadLength + HEADER_BYTES !== length) return broken(producer, `payload length ${payloadLength} in a ${length}-byte record`);
  const seq = codec.sequence(offset);
  if (payloadLength >= 4 && codec.stampedSequence(offset) !== seq >>> 0) {
    return { producer, problem: `payload of seq ${seq} carries seq ${codec.stampedSequence(offset)}`, headerIntact: true };
  }
  if (verifyCrc && (codec.flags(offset) & Flags.HAS_CRC) !== 0 && payloadCrc(codec.bytes, offset + HEADER_BYTES, payloadLength) !== codec.crc(offset)) {
    return { producer, problem: `CRC32 mismatch at seq ${seq}`, headerIntact: true };
  }
  return { producer, problem: null, headerIntact: true };
}
