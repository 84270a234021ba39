/**
 * Two native backends on the sab-spsc memory layout (so JS and native sides interoperate):
 *
 * - `native`: JavaScript workers claim, publish, peek and release through N-API calls (two per
 *   batch on each side), writing and reading messages in place in the SharedArrayBuffer. Same
 *   work as sab-spsc, with the index arithmetic behind the JS/native boundary: the difference
 *   between the two is what the boundary costs.
 * - `native-threads`: producer and consumer loops run on C++ threads the addon starts and joins;
 *   the ceiling with no JavaScript in the loop. Busy-spin only, throughput and ping-pong only.
 *
 * Waking a sleeping JavaScript thread needs Atomics.notify (a native futex call cannot wake V8's
 * Atomics.wait), so the native calls report "someone sleeps" and the JS wrapper notifies.
 */
import { type BackendCounters, type MessageVisitor, type QueueBackend, SPSC_IN_SHARED_MEMORY } from '../contract.js';
import { DATA_OFFSET, HEAD, SPSC_SHAPE, SPSC_WORDS, TAIL } from '../sab-spsc/layout.js';
import type { SelfDrivenBackend } from '../self-driven.js';
import { RING_RECORD_HEADER_BYTES } from '../shared/ring/records.js';
import { type RingDescriptor, ringBackend } from '../shared/ring/ring-backend.js';
import { checkClaim } from '../shared/ring/ring-memory.js';
import { RingConsumerSide, RingProducerSide } from '../shared/ring/ring-side.js';
import { loadNativeAddon, type NativeAddon, type NativeHandle } from './addon.js';

/** Largest batch one native call claims or peeks. */
const MAX_BATCH = 4096;

function addon(): NativeAddon {
  const load = loadNativeAddon();
  if (!load.ok) throw new Error(load.reason);
  return load.module;
}

class NativeProducer extends RingProducerSide {
  private readonly offsets = new Int32Array(new SharedArrayBuffer(MAX_BATCH * 4));
  private readonly native = addon();
  private readonly handle: NativeHandle;
  private calls = 0;
  private open = false;

  constructor(memory: SharedArrayBuffer) {
    super(memory, SPSC_WORDS);
    this.handle = this.native.producerOpen(this.words, this.offsets);
  }

  claim(max: number, length: number): number {
    const size = checkClaim(this.open, length, this.capacity);
    this.calls++;
    const n = this.native.producerClaim(this.handle, Math.min(max, MAX_BATCH), length);
    if (n === 0) this.lastNeed = 2 * size;
    this.open = n > 0;
    return n;
  }

  offsetOf(i: number): number {
    return this.offsets[i];
  }

  commit(): void {
    if (!this.open) return;
    this.open = false;
    this.calls++;
    if (this.native.producerPublish(this.handle)) this.notEmpty.signal();
  }

  abort(): void {
    if (!this.open) return;
    this.open = false;
    this.native.producerAbort(this.handle);
  }

  counters(): BackendCounters {
    return { nativeCalls: this.calls };
  }
}

class NativeConsumer extends RingConsumerSide {
  private readonly records = new Int32Array(new SharedArrayBuffer(MAX_BATCH * 8));
  private readonly native = addon();
  private readonly handle: NativeHandle;
  private calls = 0;
  protected readonly hasData = () => Atomics.load(this.words, TAIL) !== Atomics.load(this.words, HEAD);

  constructor(memory: SharedArrayBuffer) {
    super(memory, SPSC_WORDS);
    this.handle = this.native.consumerOpen(this.words, this.records);
  }

  drain(max: number, visit: MessageVisitor): number {
    this.calls += 2;
    const n = this.native.consumerPeek(this.handle, Math.min(max, MAX_BATCH));
    const r = this.records;
    let i = 0;
    try {
      for (; i < n; i++) visit(this.bytes, r[2 * i], r[2 * i + 1]);
    } catch (error) {
      // Consume only the records visited (contract.ts): release up to where record i starts.
      if (this.native.consumerReleaseTo(this.handle, this.positionOf(r[2 * i]))) this.notFull.signal();
      throw error;
    }
    // Released even when n is 0: the peek may have stepped over a padding record.
    if (this.native.consumerRelease(this.handle)) this.notFull.signal();
    return n;
  }

  /** Ring position of the record whose message starts at byte `offset` (within a lap of HEAD). */
  private positionOf(offset: number): number {
    const head = Atomics.load(this.words, HEAD);
    const index = offset - RING_RECORD_HEADER_BYTES - DATA_OFFSET;
    return (head + ((index - (head & this.mask)) & this.mask)) | 0;
  }

  counters(): BackendCounters {
    return { nativeCalls: this.calls };
  }
}

function availability() {
  const load = loadNativeAddon();
  return load.ok ? { available: true } : { available: false, reason: load.reason };
}

export const native: QueueBackend = ringBackend({
  id: 'native',
  description: 'C++ SPSC ring (sab-spsc layout) driven from JavaScript through N-API calls: the cost of the boundary',
  traits: { ...SPSC_IN_SHARED_MEMORY, canBlock: true },
  shape: SPSC_SHAPE,
  available: availability,
  producer: (memory) => new NativeProducer(memory),
  consumer: (memory) => new NativeConsumer(memory),
});

const noJavaScriptSide = () => {
  throw new Error('native-threads runs its own C++ threads; use runThreads');
};

export const nativeThreads: SelfDrivenBackend = {
  ...ringBackend({
    id: 'native-threads',
    description: 'C++ SPSC ring with producer and consumer loops on C++ threads: the native ceiling',
    traits: { ...SPSC_IN_SHARED_MEMORY, canBlock: false, workloads: ['throughput', 'ping-pong'], selfDriven: true },
    shape: SPSC_SHAPE,
    available: availability,
    producer: noJavaScriptSide,
    consumer: noJavaScriptSide,
  }),
  runThreads(run) {
    const ring = new Int32Array((run.queue as RingDescriptor).memory);
    const options = {
      ring,
      control: new Int32Array(run.control),
      pingPong: run.pingPong,
      payload: run.payload,
      batch: run.batch,
      pinProducer: run.pinProducer,
      pinConsumer: run.pinConsumer,
      ...(run.reply ? { reply: new Int32Array((run.reply as RingDescriptor).memory) } : {}),
    };
    return addon().runThreads(options);
  },
};
