/**
 * The delivery check for consumer groups, where each member sees only its share: every message
 * must reach SOME member at least once (exactly once without faults), checked across members
 * (worker threads) through one shared bitmap of the (producer, sequence) pairs seen.
 *
 *   SharedArrayBuffer, Int32 words
 *   word 0        first deliveries: messages seen by some member for the first time (Atomics.add)
 *   word 1        all deliveries, repeats included
 *   word 2..15    reserved
 *   word 16 + p·W bitmap of producer p: bit s set once sequence s was delivered (W = 2^20 words)
 *
 * A member's report can be lost (the member-failure case kills one), but what it received is
 * already in the bitmap: lost = sent − first deliveries; duplicated = all − first deliveries.
 * Per member, each producer's sequence should rise; one that falls is counted as reordered
 * (expected only for batches redelivered after a member left).
 */
import { EnvelopeCodec } from '../../wire/envelope.js';
import { DeliveryTally, inspectEnvelope } from './delivery-check.js';

const FIRST = 0;
const ALL = 1;
const BITMAP_FROM = 16;
/** Sequences a producer may reach before the check runs out of bitmap (2^25 ≈ 33.5M). */
export const GROUP_CHECK_SEQUENCES = 2 ** 25;
const WORDS_PER_PRODUCER = GROUP_CHECK_SEQUENCES / 32;

export function createGroupLedger(producers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(4 * (BITMAP_FROM + producers * WORDS_PER_PRODUCER));
}

/** Read by the coordinator after the trial: first deliveries and all deliveries, over every member. */
export function readGroupLedger(ledger: SharedArrayBuffer): { first: number; all: number } {
  const words = new Int32Array(ledger, 0, BITMAP_FROM);
  return { first: Atomics.load(words, FIRST), all: Atomics.load(words, ALL) };
}

export class GroupDeliveryCheck extends DeliveryTally {
  codec = new EnvelopeCodec(new Uint8Array(0));
  private readonly words: Int32Array;
  private readonly last: Float64Array;

  constructor(
    ledger: SharedArrayBuffer,
    private readonly producers: number,
    private readonly verifyCrc: boolean,
  ) {
    super();
    this.words = new Int32Array(ledger);
    this.last = new Float64Array(producers).fill(-1);
  }

  /** Messages seen for the first time by any member: compared with what producers sent. */
  get unique(): number {
    return Atomics.load(this.words, FIRST);
  }

  check(bytes: Uint8Array, offset: number, length: number): number {
    let codec = this.codec;
    if (codec.bytes !== bytes) codec = this.codec = new EnvelopeCodec(bytes);
    this.received++;
    Atomics.add(this.words, ALL, 1);
    const { producer, problem } = inspectEnvelope(codec, offset, length, this.producers, this.verifyCrc);
    if (problem !== null) return this.fail(producer, problem);
    const seq = codec.sequence(offset);
    if (seq >= GROUP_CHECK_SEQUENCES) return this.fail(producer, `seq ${seq} is beyond what the group check can track (${GROUP_CHECK_SEQUENCES})`);
    const word = BITMAP_FROM + producer * WORDS_PER_PRODUCER + (seq >>> 5);
    const bit = 1 << (seq & 31);
    if ((Atomics.or(this.words, word, bit) & bit) !== 0) {
      this.duplicated++;
      this.note(`producer ${producer}: seq ${seq} delivered again`);
    } else {
      Atomics.add(this.words, FIRST, 1);
      if (seq < this.last[producer]) this.reordered++;
    }
    if (seq > this.last[producer]) this.last[producer] = seq;
    return producer;
  }
}
