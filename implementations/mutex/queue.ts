/**
 * The lock baseline: a ring of records (same framing as sab-spsc) where every operation takes
 * one mutex. It shows what a lock costs next to the lock-free rings, so it is built the way a
 * careful engineer would build it, not as a straw man:
 * - SharedMutex spins briefly before sleeping, and unlock notifies only when someone sleeps;
 * - like java.util.concurrent's LinkedBlockingQueue, poll and offer first peek at the positions
 *   without the lock and return "empty"/"full" at once, so a polling reader does not take the
 *   lock away from writers just to find nothing;
 * - one lock hold per batch: claim takes the lock, commit releases it, so the copy into the
 *   ring happens under the lock (that is what a mutex queue is) but only once per batch.
 * Many producers and many consumers may attach.
 *
 * Layout: layout.ts.
 */
import type { BackendCounters, Consumer, MessageVisitor, Producer, WaitOutcome } from '../contract.js';
import { readOneInto, writeOneFrom } from '../shared/ring/one-message.js';
import { RecordRun } from '../shared/ring/record-run.js';
import { type DrainCursor, readRecords, spaceNeeded } from '../shared/ring/records.js';
import { checkClaim, META_CAPACITY } from '../shared/ring/ring-memory.js';
import { Condition } from './condition.js';
import { DATA_OFFSET, HEAD, LOCK, NOT_EMPTY, NOT_FULL, TAIL } from './layout.js';
import { SharedMutex } from './lock.js';

abstract class MutexSide {
  protected readonly words: Int32Array;
  protected readonly bytes: Uint8Array;
  protected readonly capacity: number;
  protected readonly mask: number;
  protected readonly mutex: SharedMutex;
  protected readonly notEmpty: Condition;
  protected readonly notFull: Condition;

  constructor(memory: SharedArrayBuffer) {
    this.words = new Int32Array(memory);
    this.bytes = new Uint8Array(memory);
    this.capacity = this.words[META_CAPACITY];
    this.mask = this.capacity - 1;
    this.mutex = new SharedMutex(this.words, LOCK);
    this.notEmpty = new Condition(this.words, NOT_EMPTY);
    this.notFull = new Condition(this.words, NOT_FULL);
  }

  protected used(): number {
    return (Atomics.load(this.words, TAIL) - Atomics.load(this.words, HEAD)) | 0;
  }

  counters(): BackendCounters {
    return { lockContended: this.mutex.contended, lockSleeps: this.mutex.sleeps };
  }

  close(): void {}
}

export class MutexQueueProducer extends MutexSide implements Producer {
  get buffer(): Uint8Array {
    return this.bytes;
  }
  private readonly run = new RecordRun();
  private pendingTail = 0;
  private holding = false;
  private lastNeed = 0;

  claim(max: number, length: number): number {
    // A second claim would take the lock this producer already holds: a self-deadlock.
    const size = checkClaim(this.holding, length, this.capacity);
    if (this.capacity - this.used() < size) {
      this.lastNeed = 2 * size;
      return 0;
    }
    this.mutex.lock();
    const words = this.words;
    const t = words[TAIL];
    const free = this.capacity - ((t - words[HEAD]) | 0);
    this.pendingTail = this.run.layOut(words, DATA_OFFSET, this.capacity, t, free, max, size, length);
    const n = this.run.count;
    if (n === 0) {
      this.lastNeed = spaceNeeded(t, size, this.capacity);
      this.mutex.unlock();
      return 0;
    }
    this.holding = true;
    return n;
  }

  offsetOf(i: number): number {
    return this.run.offsetOf(i);
  }

  commit(): void {
    if (!this.holding) return;
    Atomics.store(this.words, TAIL, this.pendingTail);
    this.holding = false;
    this.mutex.unlock();
    this.notEmpty.signal();
  }

  abort(): void {
    // TAIL never moved: letting go of the lock discards the claim.
    if (!this.holding) return;
    this.holding = false;
    this.mutex.unlock();
  }

  tryWrite(message: Uint8Array): boolean {
    return writeOneFrom(this, message);
  }

  awaitSpace(timeoutMs: number): WaitOutcome {
    const need = this.lastNeed;
    this.mutex.lock();
    try {
      if (this.capacity - this.used() >= need) return 'not-needed';
      return this.notFull.wait(this.mutex, timeoutMs);
    } finally {
      this.mutex.unlock();
    }
  }

  override close(): void {
    this.abort();
  }
}

export class MutexQueueConsumer extends MutexSide implements Consumer {
  private readonly cursor: DrainCursor = { position: 0, count: 0 };

  drain(max: number, visit: MessageVisitor): number {
    if (this.used() === 0) return 0;
    this.mutex.lock();
    const words = this.words;
    const tail = words[TAIL];
    const start = words[HEAD];
    const cursor = this.cursor;
    cursor.position = start;
    cursor.count = 0;
    // The lock must be let go whatever the visitor does: a visitor that throws would otherwise
    // leave every other thread asleep on it forever. The cursor moves past a record only after
    // its visit returns, so the throwing message stays in the queue (contract.ts).
    try {
      readRecords(words, this.bytes, DATA_OFFSET, this.mask, cursor, tail, max, visit);
    } finally {
      const h = cursor.position;
      if (h !== start) Atomics.store(words, HEAD, h);
      this.mutex.unlock();
      if (h !== start) this.notFull.signal();
    }
    return cursor.count;
  }

  tryRead(destination: Uint8Array): number {
    return readOneInto(this, destination);
  }

  awaitData(timeoutMs: number): WaitOutcome {
    this.mutex.lock();
    try {
      if (this.used() !== 0) return 'not-needed';
      return this.notEmpty.wait(this.mutex, timeoutMs);
    } finally {
      this.mutex.unlock();
    }
  }
}
