/**
 * postMessage baseline: what every Node user already has. One MessageChannel per producer; the
 * consumer polls all its ports with `receiveMessageOnPort`, so it runs the same synchronous loop
 * as the shared-memory backends (no event-loop turn per message).
 *
 * Payloads are CLONED below 32 KiB a message and TRANSFERRED from there up, which is what a
 * careful user would do: measured here (Node 20, one 72-byte message per post), cloning a
 * right-sized ArrayBuffer ran ~0.5M posts/s against ~0.25M for transferring a fresh one, while at
 * 64 KiB transferring ran 0.06M/s against 0.015–0.024M/s for cloning. The producer writes records
 * straight into the ArrayBuffer that is posted: a reused one (cloned, so the producer keeps it)
 * or a fresh one (transferred, so the producer gives it away). One commit is one postMessage,
 * so batch 256 sends 256 records in one message.
 *
 * MessagePorts are unbounded; left alone a fast producer would queue gigabytes. For a fair
 * comparison with the bounded rings, producers take credit from a shared in-flight byte count
 * (capacityBytes, like a ring's size) and the consumer returns it. Credit is taken by
 * compare-and-swap, so the count never passes capacityBytes (≤ 1 GiB, scenario schema) and the
 * Int32 cannot overflow however many producers race for it.
 *
 * Credit is taken before postMessage (a reservation), but a consumer must not be told "there is
 * data" until a message is really on a port, or a `block` consumer woken by the credit would spin
 * on an empty port. So POSTED counts batches after each postMessage, and the consumer sleeps on
 * POSTED, not on IN_FLIGHT.
 *
 * Its control words: layout.ts.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import {
  type BackendCounters,
  ClaimOpenError,
  type Consumer,
  MessageTooLargeError,
  type MessageVisitor,
  type Producer,
  type QueueBackend,
  type QueueDescriptor,
  type WaitOutcome,
} from '../contract.js';
import { EventCount } from '../shared/ring/event-count.js';
import { readOneInto, writeOneFrom } from '../shared/ring/one-message.js';
import { minimumCapacity, RecordType, RING_RECORD_HEADER_BYTES, ringRecordBytes } from '../shared/ring/records.js';
import { CONTROL_BYTES, IN_FLIGHT, NOT_EMPTY, NOT_FULL, POSTED } from './layout.js';

interface PostMessageDescriptor extends QueueDescriptor {
  readonly control: SharedArrayBuffer;
  readonly capacityBytes: number;
  /** producerPorts[i] goes to producer i; consumerPorts[i] is the consumer's end of that channel. */
  readonly producerPorts: (MessagePort | null)[];
  readonly consumerPorts: (MessagePort | null)[];
}

/** Batches of at least this many bytes are transferred; smaller ones are cloned. */
export const TRANSFER_FROM_BYTES = 32 * 1024;

class PostMessageProducer implements Producer {
  buffer = new Uint8Array(0);
  private words = new Int32Array(0);
  /** The batch being written: reused while batches keep the same size (cloned on post). */
  private current = new ArrayBuffer(0);
  private transfer = false;
  private readonly inFlight: Int32Array;
  private readonly notEmpty: EventCount;
  private readonly notFull: EventCount;
  private claimedBytes = 0;
  private recordSize = 0;
  private lastNeed = 0;

  constructor(
    private readonly port: MessagePort,
    control: SharedArrayBuffer,
    private readonly capacityBytes: number,
  ) {
    this.inFlight = new Int32Array(control);
    this.notEmpty = new EventCount(this.inFlight, NOT_EMPTY);
    this.notFull = new EventCount(this.inFlight, NOT_FULL);
  }

  claim(max: number, length: number): number {
    if (this.claimedBytes !== 0) throw new ClaimOpenError();
    const size = ringRecordBytes(length);
    if (size > this.capacityBytes) throw new MessageTooLargeError(length, this.capacityBytes - RING_RECORD_HEADER_BYTES);
    let n = 0;
    let total = 0;
    for (;;) {
      const inFlight = Atomics.load(this.inFlight, IN_FLIGHT);
      n = Math.min(max, ((this.capacityBytes - inFlight) / size) | 0);
      if (n <= 0) {
        this.lastNeed = size;
        return 0;
      }
      total = n * size;
      if (Atomics.compareExchange(this.inFlight, IN_FLIGHT, inFlight, inFlight + total) === inFlight) break;
    }
    this.transfer = total >= TRANSFER_FROM_BYTES;
    if (this.transfer || this.current.byteLength !== total) {
      this.current = new ArrayBuffer(total);
      this.buffer = new Uint8Array(this.current);
      this.words = new Int32Array(this.current);
    }
    const words = this.words;
    for (let i = 0, w = 0; i < n; i++, w += size >> 2) {
      words[w] = length;
      words[w + 1] = RecordType.MESSAGE;
    }
    this.recordSize = size;
    this.claimedBytes = total;
    return n;
  }

  offsetOf(i: number): number {
    return i * this.recordSize + RING_RECORD_HEADER_BYTES;
  }

  commit(): void {
    const total = this.claimedBytes;
    if (total === 0) return;
    if (this.transfer) this.port.postMessage(this.current, [this.current]);
    else this.port.postMessage(this.current);
    // Counted only now that the batch is on the port: a consumer woken by it finds data.
    Atomics.add(this.inFlight, POSTED, 1);
    this.claimedBytes = 0;
    this.notEmpty.signal();
  }

  abort(): void {
    const total = this.claimedBytes;
    if (total === 0) return;
    // Nothing was posted: hand the reserved credit back.
    Atomics.sub(this.inFlight, IN_FLIGHT, total);
    this.claimedBytes = 0;
    this.notFull.signal();
  }

  tryWrite(message: Uint8Array): boolean {
    return writeOneFrom(this, message);
  }

  // Built once: a closure made per wait would be garbage on every sleep (`block` sleeps often).
  private readonly hasSpace = () => this.capacityBytes - Atomics.load(this.inFlight, IN_FLIGHT) >= this.lastNeed;

  awaitSpace(timeoutMs: number): WaitOutcome {
    return this.notFull.await(this.hasSpace, timeoutMs);
  }

  counters(): BackendCounters {
    return {};
  }

  close(): void {
    this.abort();
    this.port.close();
  }
}

class PostMessageConsumer implements Consumer {
  private readonly inFlight: Int32Array;
  private readonly notEmpty: EventCount;
  private readonly notFull: EventCount;
  /** The batch being read, and where in it: a drain may stop in the middle of a batch. */
  private current: Uint8Array | null = null;
  private currentWords: Int32Array | null = null;
  private position = 0;
  private nextPort = 0;
  /** Batches taken off the ports (compared with POSTED, both wrapping at 2^32). */
  private received = 0;
  // Built once: a closure made per wait would be garbage on every sleep (`block` sleeps often).
  private readonly hasData = () => Atomics.load(this.inFlight, POSTED) !== this.received;

  constructor(
    private readonly ports: MessagePort[],
    control: SharedArrayBuffer,
  ) {
    this.inFlight = new Int32Array(control);
    this.notEmpty = new EventCount(this.inFlight, NOT_EMPTY);
    this.notFull = new EventCount(this.inFlight, NOT_FULL);
  }

  /** Takes the next batch from the ports, round robin so no producer starves. */
  private receive(): boolean {
    const count = this.ports.length;
    for (let k = 0; k < count; k++) {
      const port = this.ports[this.nextPort];
      this.nextPort = this.nextPort + 1 === count ? 0 : this.nextPort + 1;
      const got = receiveMessageOnPort(port);
      if (got !== undefined) {
        const batch = got.message as ArrayBuffer;
        this.current = new Uint8Array(batch);
        this.currentWords = new Int32Array(batch);
        this.position = 0;
        this.received = (this.received + 1) | 0;
        return true;
      }
    }
    return false;
  }

  drain(max: number, visit: MessageVisitor): number {
    let n = 0;
    while (n < max) {
      if (this.current === null && !this.receive()) break;
      const bytes = this.current!;
      const words = this.currentWords!;
      while (n < max && this.position < bytes.length) {
        const length = words[this.position >> 2];
        visit(bytes, this.position + RING_RECORD_HEADER_BYTES, length);
        n++;
        this.position += ringRecordBytes(length);
      }
      if (this.position >= bytes.length) {
        Atomics.sub(this.inFlight, IN_FLIGHT, bytes.length);
        this.current = null;
        this.currentWords = null;
        this.notFull.signal();
      }
    }
    return n;
  }

  tryRead(destination: Uint8Array): number {
    return readOneInto(this, destination);
  }

  awaitData(timeoutMs: number): WaitOutcome {
    if (this.current !== null) return 'not-needed';
    return this.notEmpty.await(this.hasData, timeoutMs);
  }

  counters(): BackendCounters {
    return {};
  }

  close(): void {
    for (const port of this.ports) port.close();
  }
}

export const postMessage: QueueBackend = {
  id: 'post-message',
  description: 'MessageChannel per producer, small batches cloned and large ones transferred, consumer polls with receiveMessageOnPort',
  traits: { maxProducers: 64, maxConsumers: 1, zeroCopyRead: true, zeroCopyWrite: false, canBlock: true, sharedMemory: false },
  available: () => ({ available: true }),
  create(options): PostMessageDescriptor {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const producerPorts: MessagePort[] = [];
    const consumerPorts: MessagePort[] = [];
    for (let i = 0; i < options.producers; i++) {
      const channel = new MessageChannel();
      producerPorts.push(channel.port1);
      consumerPorts.push(channel.port2);
    }
    const capacityBytes = minimumCapacity(options.capacityBytes, options.maxMessageBytes);
    // The in-flight count is an Int32: 1 GiB leaves it room (the scenario schema refuses more).
    if (capacityBytes > 2 ** 30) throw new RangeError(`post-message capacity ${capacityBytes} exceeds 1 GiB`);
    return {
      backend: 'post-message',
      control,
      capacityBytes,
      producerPorts,
      consumerPorts,
      sharedBytes: 0,
      transfer: [...producerPorts, ...consumerPorts],
    };
  },
  select(descriptor, role, index) {
    const d = descriptor as PostMessageDescriptor;
    const producerPorts = d.producerPorts.map((p, i) => (role === 'producer' && i === index ? p : null));
    const consumerPorts = role === 'consumer' ? d.consumerPorts : [];
    const transfer = [...producerPorts, ...consumerPorts].filter((p): p is MessagePort => p !== null);
    return { ...d, producerPorts, consumerPorts, transfer };
  },
  producer(descriptor, index) {
    const d = descriptor as PostMessageDescriptor;
    const port = d.producerPorts[index];
    if (!port) throw new Error(`post-message: no port for producer ${index}`);
    return new PostMessageProducer(port, d.control, d.capacityBytes);
  },
  consumer(descriptor) {
    const d = descriptor as PostMessageDescriptor;
    return new PostMessageConsumer(
      d.consumerPorts.filter((p): p is MessagePort => p !== null),
      d.control,
    );
  },
};
