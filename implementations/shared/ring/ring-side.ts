/**
 * What one side of an event-count ring shares with every other (sab-spsc, mpsc-cas and native;
 * the mutex baseline sleeps on conditions instead and keeps its own): views of the ring's
 * memory (ring-memory.ts), its capacity, the two event counts, the one-message copies, and
 * sleeping until the other side makes room or data. Each ring's file keeps what differs: how it
 * claims, publishes and reads.
 */
import type { BackendCounters, Consumer, MessageVisitor, Producer, WaitOutcome } from '../../contract.js';
import { EventCount } from './event-count.js';
import { readOneInto, writeOneFrom } from './one-message.js';
import { META_CAPACITY } from './ring-memory.js';

/** Int32 indexes of the words a side needs to wait on the other. */
export interface RingWords {
  readonly tail: number;
  readonly head: number;
  readonly notEmpty: number;
  readonly notFull: number;
}

export abstract class RingProducerSide implements Producer {
  readonly buffer: Uint8Array;
  protected readonly words: Int32Array;
  protected readonly capacity: number;
  protected readonly notEmpty: EventCount;
  protected readonly notFull: EventCount;
  /** Bytes the last claim that found no room needed: awaitSpace sleeps until that much is free. */
  protected lastNeed = 0;
  // Built once: a closure made per wait would be garbage on every sleep (`block` sleeps often).
  private readonly hasSpace: () => boolean;

  constructor(memory: SharedArrayBuffer, at: RingWords) {
    this.buffer = new Uint8Array(memory);
    this.words = new Int32Array(memory);
    this.capacity = this.words[META_CAPACITY];
    this.notEmpty = new EventCount(this.words, at.notEmpty);
    this.notFull = new EventCount(this.words, at.notFull);
    const words = this.words;
    this.hasSpace = () => this.lastNeed <= this.capacity - ((Atomics.load(words, at.tail) - Atomics.load(words, at.head)) | 0);
  }

  abstract claim(max: number, length: number): number;
  abstract offsetOf(i: number): number;
  abstract commit(): void;
  abstract abort(): void;
  abstract counters(): BackendCounters;

  tryWrite(message: Uint8Array): boolean {
    return writeOneFrom(this, message);
  }

  awaitSpace(timeoutMs: number): WaitOutcome {
    return this.notFull.await(this.hasSpace, timeoutMs);
  }

  close(): void {
    this.abort();
  }
}

export abstract class RingConsumerSide implements Consumer {
  protected readonly bytes: Uint8Array;
  protected readonly words: Int32Array;
  /** The same memory in 8-byte words, for zeroing what was consumed (records.ts, zeroRange). */
  protected readonly doubles: Float64Array;
  protected readonly capacity: number;
  protected readonly mask: number;
  protected readonly notEmpty: EventCount;
  protected readonly notFull: EventCount;

  constructor(memory: SharedArrayBuffer, at: RingWords) {
    this.bytes = new Uint8Array(memory);
    this.words = new Int32Array(memory);
    this.doubles = new Float64Array(memory, 0, memory.byteLength >> 3);
    this.capacity = this.words[META_CAPACITY];
    this.mask = this.capacity - 1;
    this.notEmpty = new EventCount(this.words, at.notEmpty);
    this.notFull = new EventCount(this.words, at.notFull);
  }

  /** True when a drain would find a message (built once by the ring: see RingProducerSide). */
  protected abstract readonly hasData: () => boolean;
  abstract drain(max: number, visit: MessageVisitor): number;
  abstract counters(): BackendCounters;

  tryRead(destination: Uint8Array): number {
    return readOneInto(this, destination);
  }

  awaitData(timeoutMs: number): WaitOutcome {
    return this.notEmpty.await(this.hasData, timeoutMs);
  }

  close(): void {}
}
