/**
 * `null`: producer to consumer through nothing, to measure the harness itself. Only counts
 * cross between threads (one Atomics store per batch); no message bytes do. The producer writes
 * its envelopes into private scratch memory and they are dropped at commit; the consumer hands
 * the harness a local envelope carrying the next sequence number, which the harness checks as
 * usual. What remains in the figures is the harness's own per-message work: writing envelopes,
 * checking delivery, reading the phase — the floor under every other backend's numbers.
 * Latency is not measured (no timestamp crosses), and a single producer is supported. Its
 * drain keeps no try/finally for a throwing visitor (contract.ts): it carries no bytes, is
 * outside the conformance suite, and exists to show the harness's cost with nothing added.
 *
 * Its control words: layout.ts.
 */

import { EnvelopeCodec, HEADER_BYTES } from '../../wire/envelope.js';
import {
  type BackendCounters,
  ClaimOpenError,
  type Consumer,
  type MessageVisitor,
  type Producer,
  type QueueBackend,
  type QueueDescriptor,
  SPSC_IN_SHARED_MEMORY,
  type WaitOutcome,
} from '../contract.js';
import { RING_RECORD_HEADER_BYTES, ringRecordBytes } from '../shared/ring/records.js';
import { CONSUMED, CONTROL_BYTES, LENGTH, PUBLISHED } from './layout.js';

interface NullDescriptor extends QueueDescriptor {
  readonly control: SharedArrayBuffer;
  /** Most messages in flight, so a slow consumer bounds the producer as a real queue would. */
  readonly capacityMessages: number;
}

class NullProducer implements Producer {
  buffer = new Uint8Array(64 * 1024);
  private readonly words: Int32Array;
  private published = 0;
  private claimed = 0;
  private size = 0;

  constructor(private readonly d: NullDescriptor) {
    this.words = new Int32Array(d.control);
  }

  claim(max: number, length: number): number {
    if (this.claimed !== 0) throw new ClaimOpenError();
    const room = this.d.capacityMessages - ((this.published - Atomics.load(this.words, CONSUMED)) | 0);
    const n = Math.min(max, room);
    if (n <= 0) return 0;
    this.size = ringRecordBytes(length);
    if (this.buffer.length < n * this.size) this.buffer = new Uint8Array(n * this.size);
    this.words[LENGTH] = length;
    this.claimed = n;
    return n;
  }

  offsetOf(i: number): number {
    return i * this.size + RING_RECORD_HEADER_BYTES;
  }

  commit(): void {
    if (this.claimed === 0) return;
    this.published = (this.published + this.claimed) | 0;
    Atomics.store(this.words, PUBLISHED, this.published);
    this.claimed = 0;
  }

  abort(): void {
    this.claimed = 0;
  }

  tryWrite(message: Uint8Array): boolean {
    if (this.claim(1, message.length) === 0) return false;
    this.commit();
    return true;
  }

  awaitSpace(): WaitOutcome {
    return 'not-needed';
  }

  counters(): BackendCounters {
    return {};
  }

  close(): void {
    this.abort();
  }
}

class NullConsumer implements Consumer {
  private readonly words: Int32Array;
  private consumed = 0;
  private sequence = 0;
  private message = new Uint8Array(HEADER_BYTES);
  private codec = new EnvelopeCodec(this.message);

  constructor(d: NullDescriptor) {
    this.words = new Int32Array(d.control);
  }

  drain(max: number, visit: MessageVisitor): number {
    const available = (Atomics.load(this.words, PUBLISHED) - this.consumed) | 0;
    const n = Math.min(max, available);
    if (n <= 0) return 0;
    const length = Atomics.load(this.words, LENGTH);
    if (this.message.length !== length) {
      this.message = new Uint8Array(Math.max(length, HEADER_BYTES));
      this.codec = new EnvelopeCodec(this.message);
    }
    const payload = length - HEADER_BYTES;
    for (let i = 0; i < n; i++) {
      const seq = this.sequence++;
      this.codec.writeBareHeader(0, 0, seq, payload);
      if (payload >= 4) this.codec.stampSequence(0, seq);
      visit(this.message, 0, length);
    }
    this.consumed = (this.consumed + n) | 0;
    Atomics.store(this.words, CONSUMED, this.consumed);
    return n;
  }

  tryRead(): number {
    throw new Error('null carries no bytes: use drain');
  }

  awaitData(): WaitOutcome {
    return 'not-needed';
  }

  counters(): BackendCounters {
    return {};
  }

  close(): void {}
}

export const nullBackend: QueueBackend = {
  id: 'null',
  description: 'producer to consumer through nothing (counts cross, bytes do not): the harness overhead',
  traits: { ...SPSC_IN_SHARED_MEMORY, canBlock: false, workloads: ['throughput'], carriesBytes: false },
  available: () => ({ available: true }),
  create(options): NullDescriptor {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    return {
      backend: 'null',
      control,
      capacityMessages: Math.max(1, Math.floor(options.capacityBytes / ringRecordBytes(options.maxMessageBytes))),
      sharedBytes: control.byteLength,
    };
  },
  producer: (d) => new NullProducer(d as NullDescriptor),
  consumer: (d) => new NullConsumer(d as NullDescriptor),
};
