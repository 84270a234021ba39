/**
 * Lock-free SPSC ring on a SharedArrayBuffer (layout in layout.ts, framing in ../shared/ring/records.ts).
 *
 * Each side keeps a private cached copy of the other side's position (rigtorp/SPSCQueue): the
 * producer reads HEAD only when its cached head says the ring is full, the consumer reads TAIL
 * only when its cached tail says it is empty, so in steady state each side touches the other's
 * cache line once per batch, not once per message.
 *
 * Publication: the producer writes records with plain stores, then one Atomics.store of TAIL
 * publishes the whole batch; the consumer's Atomics.load of TAIL makes those stores visible
 * (Atomics are sequentially consistent, which orders the plain accesses around them).
 * The consumer likewise returns a whole drain with one Atomics.store of HEAD.
 */
import type { BackendCounters, MessageVisitor } from '../contract.js';
import { RecordRun } from '../shared/ring/record-run.js';
import { type DrainCursor, readRecords, spaceNeeded, zeroRange } from '../shared/ring/records.js';
import { checkClaim } from '../shared/ring/ring-memory.js';
import { RingConsumerSide, RingProducerSide } from '../shared/ring/ring-side.js';
import { claimJavaScriptPeer, DATA_OFFSET, HEAD, SPSC_WORDS, TAIL } from './layout.js';

export class SpscRingProducer extends RingProducerSide {
  private tail: number;
  private cachedHead: number;
  private pendingTail: number;
  private claimed = 0;
  private readonly run = new RecordRun();
  private notifies = 0;

  constructor(memory: SharedArrayBuffer) {
    super(memory, SPSC_WORDS);
    claimJavaScriptPeer(this.words);
    this.tail = Atomics.load(this.words, TAIL);
    this.pendingTail = this.tail;
    this.cachedHead = Atomics.load(this.words, HEAD);
  }

  claim(max: number, length: number): number {
    const size = checkClaim(this.claimed !== 0, length, this.capacity);
    const capacity = this.capacity;
    const t = this.tail;
    let free = capacity - ((t - this.cachedHead) | 0);
    // The consumer's line is read only when the cached head leaves too little room for the
    // whole batch (and its padding): once per lap of the ring in steady state.
    if (free < max * size + size) {
      this.cachedHead = Atomics.load(this.words, HEAD);
      free = capacity - ((t - this.cachedHead) | 0);
    }
    const run = this.run;
    this.pendingTail = run.layOut(this.words, DATA_OFFSET, capacity, t, free, max, size, length);
    const n = run.count;
    if (n === 0) this.lastNeed = spaceNeeded(t, size, capacity);
    this.claimed = n;
    return n;
  }

  offsetOf(i: number): number {
    return this.run.offsetOf(i);
  }

  commit(): void {
    if (this.claimed === 0) return;
    Atomics.store(this.words, TAIL, this.pendingTail);
    this.tail = this.pendingTail;
    this.claimed = 0;
    if (this.notEmpty.signal()) this.notifies++;
  }

  abort(): void {
    // Nothing was published: the records written past TAIL are overwritten by the next claim.
    this.pendingTail = this.tail;
    this.claimed = 0;
  }

  counters(): BackendCounters {
    return { notifies: this.notifies };
  }
}

/**
 * A drain that gives back at least this much zeroes it first (before HEAD moves, so the producer
 * never writes there meanwhile). The bytes' value does not matter; their cache lines' state
 * does. Read by the consumer, a line is shared between the two cores, and the producer's next
 * stores to it wait on upgrades of shared lines; written by the consumer, the line is its alone,
 * and the producer's stores are plain misses the hardware fetches ahead. That is our reading of
 * what was measured (scripts/bench-rings-bare.mjs, 64 B, batch 256): 32 → 35M msg/s with the two
 * vCPUs on near cores (core-to-core round trip ≈ 130 ns), 12 → 26–35M on far ones (≈ 350 ns);
 * through the harness, 12 → 24–33M. mpsc-cas, which zeroes every drain for its own reason (a zero
 * length word means "not committed"), never showed the near/far swing, which is what pointed here.
 * Single messages skip it: zeroing every drain cost batch 1 6% (8.1 → 7.6M msg/s).
 */
export const ZERO_FROM_BYTES = 1024;

/**
 * ...and only a drain whose records average at most this many bytes (four cache lines). A
 * consumer that reads a large record's header and not its payload (the harness under
 * `verify: sequence`, and most consumers that route on a header) leaves the payload's lines in
 * the producer's cache, where its next lap finds them at no cost; zeroing pulls every one of them
 * across and hands it back. Measured through the harness on near cores (docs/rings.md), zeroing
 * 136-byte records gained (24.4 against 19.7M msg/s), 264-byte ones tied, and from 392 bytes it
 * lost: 520-byte records 10.7 against 13.4M, 1096-byte ones 5.8 against 9.3M. On far cores it
 * still gained at 1096 bytes (5.9 against 3.9M, one round), so this gives up the far case for the
 * near one, the placement a machine with one shared cache always has.
 */
export const ZERO_MAX_RECORD_BYTES = 256;

export class SpscRingConsumer extends RingConsumerSide {
  private head: number;
  private cachedTail: number;
  private notifies = 0;
  private readonly cursor: DrainCursor = { position: 0, count: 0 };
  protected readonly hasData = () => Atomics.load(this.words, TAIL) !== this.head;

  constructor(memory: SharedArrayBuffer) {
    super(memory, SPSC_WORDS);
    claimJavaScriptPeer(this.words);
    this.head = Atomics.load(this.words, HEAD);
    this.cachedTail = Atomics.load(this.words, TAIL);
  }

  drain(max: number, visit: MessageVisitor): number {
    let h = this.head;
    if (h === this.cachedTail) {
      this.cachedTail = Atomics.load(this.words, TAIL);
      if (h === this.cachedTail) return 0;
    }
    const words = this.words;
    const cursor = this.cursor;
    cursor.position = h;
    cursor.count = 0;
    let end = this.cachedTail;
    // The cursor moves past a record only after its visit returns, so when a visit throws, the
    // `finally` gives back exactly the records visited and the throwing one stays (contract.ts).
    try {
      for (;;) {
        readRecords(words, this.bytes, DATA_OFFSET, this.mask, cursor, end, max, visit);
        // Reached the cached tail with room to spare: look again, so a drain takes what
        // was published meanwhile instead of leaving it for the next call.
        if (cursor.count === max || end !== this.cachedTail) break;
        end = Atomics.load(words, TAIL);
        if (end === this.cachedTail) break;
        this.cachedTail = end;
      }
    } finally {
      // A padding record alone still moves the head, so the producer gets its space back.
      h = cursor.position;
      const used = (h - this.head) | 0;
      if (used >= ZERO_FROM_BYTES && used <= cursor.count * ZERO_MAX_RECORD_BYTES) zeroRange(this.doubles, DATA_OFFSET, this.mask, this.head, used);
      if (h !== this.head) {
        Atomics.store(words, HEAD, h);
        this.head = h;
        if (this.notFull.signal()) this.notifies++;
      }
    }
    return cursor.count;
  }

  counters(): BackendCounters {
    return { notifies: this.notifies };
  }
}
