/**
 * `ringbuf-js`: the SPSC ring users find on npm (ringbuf.js, Paul Adenot), adapted to the queue
 * contract with its own push and pop, so reports show this project's rings against it.
 *
 * ringbuf.js moves a stream of typed-array elements (here bytes), not messages, and copies on
 * both sides. The adapter adds only what the contract needs, and says what it costs:
 *   - framing: each message is a record of this project's framing (records.ts: length, type,
 *     bytes, padding to 8), so the consumer can find message boundaries in the byte stream;
 *   - the producer writes a batch into private staging memory (claim), and commit is one
 *     `push` (ringbuf.js copies it into the ring and publishes it with one store);
 *   - the consumer `pop`s everything published into private staging memory and visits the
 *     messages there: one copy on each side, where sab-spsc writes and reads in place.
 * Messages popped but not yet visited (a drain stopped at `max`, or a visitor threw) wait in
 * the consumer's staging: the queue then holds up to twice the ring's capacity. ringbuf.js has
 * no way to sleep until the other side moves, so this backend is spin-only (canBlock false).
 *
 *   ringbuf.js memory (its own layout; this adapter does not touch it):
 *   byte 0  | write index (u32) |
 *   byte 4  | read index (u32)  |
 *   byte 8  | storage: capacity + 1 bytes (one kept free to tell full from empty) |
 */
import { RingBuffer } from 'ringbuf.js';
import type { BackendCounters, Consumer, MessageVisitor, Producer, QueueBackend, QueueDescriptor, WaitOutcome } from '../contract.js';
import { readOneInto, writeOneFrom } from '../shared/ring/one-message.js';
import { RecordStaging } from '../shared/ring/record-staging.js';
import { minimumCapacity, RING_RECORD_HEADER_BYTES, ringRecordBytes } from '../shared/ring/records.js';
import { checkClaim } from '../shared/ring/ring-memory.js';

interface RingbufDescriptor extends QueueDescriptor {
  readonly memory: SharedArrayBuffer;
}

/** ringbuf.js cannot wake a sleeper: a wait is a plain sleep on a private word. */
function sleep(pause: Int32Array, ready: () => boolean, timeoutMs: number): WaitOutcome {
  if (ready()) return 'not-needed';
  Atomics.wait(pause, 0, 0, timeoutMs);
  return 'timed-out';
}

class RingbufProducer implements Producer {
  private readonly ring: RingBuffer;
  private readonly capacity: number;
  private readonly staging = new RecordStaging();
  private claimed = 0;
  private lastNeed = 0;
  private partialPushes = 0;
  private readonly pause = new Int32Array(1);
  private readonly hasSpace = () => this.ring.availableWrite() >= this.lastNeed;

  constructor(memory: SharedArrayBuffer) {
    this.ring = new RingBuffer(memory, Uint8Array);
    this.capacity = this.ring.capacity();
  }

  /** The staging memory claims are written into (replaced when a larger batch needs more). */
  get buffer(): Uint8Array {
    return this.staging.bytes;
  }

  claim(max: number, length: number): number {
    const size = checkClaim(this.claimed !== 0, length, this.capacity);
    const n = Math.min(max, (this.ring.availableWrite() / size) | 0);
    if (n <= 0) {
      this.lastNeed = size;
      return 0;
    }
    this.staging.layOut(n, size, length);
    this.claimed = n;
    return n;
  }

  offsetOf(i: number): number {
    return this.staging.offsetOf(i);
  }

  commit(): void {
    if (this.claimed === 0) return;
    const bytes = this.claimed * this.staging.size;
    this.claimed = 0;
    // One producer: the space seen at claim can only have grown, so the whole batch fits.
    const pushed = this.ring.push(this.staging.bytes, bytes, 0);
    if (pushed !== bytes) {
      this.partialPushes++;
      throw new Error(`ringbuf.js took ${pushed} of ${bytes} bytes of a batch that fitted when claimed`);
    }
  }

  abort(): void {
    this.claimed = 0;
  }

  tryWrite(message: Uint8Array): boolean {
    return writeOneFrom(this, message);
  }

  awaitSpace(timeoutMs: number): WaitOutcome {
    return sleep(this.pause, this.hasSpace, timeoutMs);
  }

  counters(): BackendCounters {
    return { partialPushes: this.partialPushes };
  }

  close(): void {
    this.abort();
  }
}

class RingbufConsumer implements Consumer {
  private readonly ring: RingBuffer;
  /** Popped messages: [start, end) not yet visited. As large as the ring, so one pop takes all. */
  private readonly staging: Uint8Array;
  private readonly words: Int32Array;
  private start = 0;
  private end = 0;
  private pops = 0;
  private readonly pause = new Int32Array(1);
  private readonly hasData = () => this.start !== this.end || this.ring.availableRead() > 0;

  constructor(memory: SharedArrayBuffer) {
    this.ring = new RingBuffer(memory, Uint8Array);
    this.staging = new Uint8Array(this.ring.capacity());
    this.words = new Int32Array(this.staging.buffer, 0, this.staging.length >>> 2);
  }

  drain(max: number, visit: MessageVisitor): number {
    const words = this.words;
    let n = 0;
    while (n < max) {
      if (this.start === this.end) {
        // Whole records only: each commit pushes whole records, and this pops all that is there.
        this.end = this.ring.pop(this.staging, this.staging.length, 0);
        this.start = 0;
        if (this.end === 0) break;
        this.pops++;
      }
      // `start` moves past a message only after its visit returns: a visitor that throws leaves
      // it first in line (contract.ts).
      const at = this.start;
      const length = words[at >> 2];
      visit(this.staging, at + RING_RECORD_HEADER_BYTES, length);
      this.start = at + ringRecordBytes(length);
      n++;
    }
    return n;
  }

  tryRead(destination: Uint8Array): number {
    return readOneInto(this, destination);
  }

  awaitData(timeoutMs: number): WaitOutcome {
    return sleep(this.pause, this.hasData, timeoutMs);
  }

  counters(): BackendCounters {
    return { pops: this.pops };
  }

  close(): void {}
}

export const ringbufJs: QueueBackend = {
  id: 'ringbuf-js',
  description: 'ringbuf.js (npm), the popular SharedArrayBuffer SPSC byte ring: messages framed in, copied in by push and out by pop',
  traits: { maxProducers: 1, maxConsumers: 1, zeroCopyRead: false, zeroCopyWrite: false, canBlock: false, sharedMemory: true },
  available: () => ({ available: true }),
  create(options): RingbufDescriptor {
    // As much as the project's rings hold at least; ringbuf.js needs no power of two.
    const capacity = minimumCapacity(options.capacityBytes, options.maxMessageBytes);
    const memory = RingBuffer.getStorageForCapacity(capacity, Uint8Array);
    return { backend: 'ringbuf-js', memory, sharedBytes: memory.byteLength, capacityBytes: capacity };
  },
  producer: (d) => new RingbufProducer((d as RingbufDescriptor).memory),
  consumer: (d) => new RingbufConsumer((d as RingbufDescriptor).memory),
};
