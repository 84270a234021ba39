/**
 * Bounded many-producer single-consumer ring on a SharedArrayBuffer, after agrona's
 * ManyToOneRingBuffer: producers claim space by compare-and-swap on TAIL and publish each claim
 * by storing its record length; the consumer reads records in order and stops at the first
 * length still zero (claimed, not yet committed).
 *
 * Why variable-length records and not Vyukov's per-slot sequence numbers: payloads range from 0
 * to 64 KiB, and a slot queue must size every slot for the largest message (64 KiB × slots),
 * where records take only what each message needs. The price is that the consumer must zero
 * what it consumed (so a future record's length reads 0 until committed), as agrona does.
 *
 * Layout: layout.ts.
 *
 *   record:  | record length incl. header (i32, 0 = not committed) | type (i32) | message | pad to 8 |
 *
 * The length word holds the whole record's length (message + 8-byte header, as agrona does), so
 * a committed record is never 0, even for an empty message.
 *
 * A batch claim takes room for n records with one CAS, as one run of equal strides (it never
 * straddles the end), so a record's offset is arithmetic, not a stored value. Its commit stores
 * the lengths of records 1..n-1 with plain writes and the first record's length last, with
 * Atomics.store: the consumer cannot pass the first record before that store, and once it sees
 * it, every earlier write of the batch is visible too (sequentially consistent atomics order
 * them). One publish per batch.
 */
import type { BackendCounters, MessageVisitor } from '../contract.js';
import { RecordType, RING_RECORD_HEADER_BYTES, ringRecordBytes, zeroRange } from '../shared/ring/records.js';
import { checkClaim } from '../shared/ring/ring-memory.js';
import { RingConsumerSide, RingProducerSide } from '../shared/ring/ring-side.js';
import { DATA_OFFSET, HEAD, HEAD_CACHE, MPSC_WORDS, TAIL } from './layout.js';

/** TAIL reads (its own cache line) a consumer makes instead of re-reading an uncommitted record. */
export const BACK_OFF_SPINS = 32;
/**
 * Back-offs in a row behind one uncommitted record before the consumer gives up its CPU for
 * YIELD_MS. A record stays uncommitted that long only when its producer was preempted between
 * claim and commit (oversubscribed cores); spinning then only keeps that producer off the CPU.
 * The mutex baseline does the same inside its lock (spin, then sleep), so this is like for like.
 */
export const STALLED_BACK_OFFS = 256;
export const YIELD_MS = 0.05;
/** Masks the back-off's sink into V8's small-integer range (31 bits where pointers are compressed). */
const SMALL_INTEGER = 0x3fffffff;

export class MpscRingProducer extends RingProducerSide {
  private readonly mask: number;
  /** Where the last claim's first message starts: a batch is one run, so record i is `size` further on per step. */
  private first = 0;
  private size = 0;
  private claimed = 0;
  private claimedLength = 0;
  private casFailures = 0;
  private headReads = 0;

  constructor(memory: SharedArrayBuffer) {
    super(memory, MPSC_WORDS);
    this.mask = this.capacity - 1;
  }

  claim(max: number, length: number): number {
    const size = checkClaim(this.claimed !== 0, length, this.capacity);
    const words = this.words;
    const capacity = this.capacity;
    // A head this producer just read from HEAD itself, used once instead of the cache.
    let refreshed = 0;
    let useRefreshed = false;
    for (;;) {
      // TAIL first, then the head: a head read after the tail is never more than `capacity`
      // behind it. Read the other way round, a producer preempted between the two reads could
      // pair a head 2^31 bytes stale with a fresh tail, and `(tail - head) | 0` would come out
      // negative: "more than capacity free", and it would overwrite unread records.
      const tail = Atomics.load(words, TAIL);
      let head = useRefreshed ? refreshed : Atomics.load(words, HEAD_CACHE);
      useRefreshed = false;
      let used = (tail - head) | 0;
      if (used < 0 || used > capacity) {
        // Stale beyond a lap (a cache left behind, or our tail already overtaken): never
        // trust it; read HEAD itself.
        head = this.freshHead();
        used = (tail - head) | 0;
        if (used < 0 || used > capacity) continue; // `tail` was overtaken meanwhile: reload both
      }
      const index = tail & this.mask;
      const toEnd = capacity - index;
      const free = capacity - used;
      // A batch never straddles the end: it stops there, or (if not even one record fits
      // before the end) a padding record fills the rest and the batch starts at 0.
      let padding = toEnd < size ? toEnd : 0;
      // `| 0`, not Math.floor: see record-run.ts (a division exact through warm-up deoptimised
      // claim the first time it was not, inside a window).
      const n = padding > 0 ? Math.min(max, ((free - padding) / size) | 0) : Math.min(max, (free / size) | 0, (toEnd / size) | 0);
      if (n <= 0) {
        const fresh = this.freshHead();
        if (fresh === head) {
          this.lastNeed = size + padding;
          return 0;
        }
        refreshed = fresh;
        useRefreshed = true;
        continue;
      }
      const need = n * size + padding;
      if (Atomics.compareExchange(words, TAIL, tail, (tail + need) | 0) !== tail) {
        this.casFailures++;
        continue;
      }
      let at = DATA_OFFSET + index;
      if (padding > 0) {
        words[(at >> 2) + 1] = RecordType.PADDING;
        Atomics.store(words, at >> 2, padding);
        at = DATA_OFFSET;
        padding = 0;
      }
      this.first = at + RING_RECORD_HEADER_BYTES;
      this.size = size;
      const stride = size >> 2;
      for (let i = 0, w = (at >> 2) + 1; i < n; i++, w += stride) words[w] = RecordType.MESSAGE;
      this.claimed = n;
      this.claimedLength = length + RING_RECORD_HEADER_BYTES;
      return n;
    }
  }

  /** Reads HEAD, offers it to the shared cache, and returns it. */
  private freshHead(): number {
    const fresh = Atomics.load(this.words, HEAD);
    this.headReads++;
    this.offerHead(fresh);
    return fresh;
  }

  /**
   * Moves the shared cache forward to `fresh`, a HEAD this producer read, never backwards: a
   * producer that read HEAD long ago must not store that old value over a newer one (every
   * producer would then compute its free space from it). Positions wrap at 2^32, so "forward"
   * (a positive 32-bit difference) means something only between positions of the same lap: a
   * HEAD read before a preemption of 2^31 bytes or more looks ahead of everything, and one read
   * 2^32 − k bytes ago sits k bytes ahead of the real head, where it reads as k bytes of free
   * space. So both are first placed against HEAD as it is now (read after them): `fresh` is
   * stored only if it is not ahead of it and at most a lap behind, and a cache that is not so
   * placed (left by such a store) is replaced. Returns whether it stored `fresh`.
   */
  offerHead(fresh: number): boolean {
    const words = this.words;
    const capacity = this.capacity;
    for (;;) {
      const cached = Atomics.load(words, HEAD_CACHE);
      const head = Atomics.load(words, HEAD);
      const freshBehind = (head - fresh) | 0;
      if (freshBehind < 0 || freshBehind > capacity) return false;
      const cachedBehind = (head - cached) | 0;
      if (cachedBehind >= 0 && cachedBehind <= capacity && ((fresh - cached) | 0) <= 0) return false;
      if (Atomics.compareExchange(words, HEAD_CACHE, cached, fresh) === cached) return true;
    }
  }

  offsetOf(i: number): number {
    return this.first + i * this.size;
  }

  commit(): void {
    const n = this.claimed;
    if (n === 0) return;
    const words = this.words;
    const recordLength = this.claimedLength;
    const first = (this.first - RING_RECORD_HEADER_BYTES) >> 2;
    const stride = this.size >> 2;
    for (let i = n - 1, w = first + i * stride; i > 0; i--, w -= stride) words[w] = recordLength;
    Atomics.store(words, first, recordLength);
    this.claimed = 0;
    this.notEmpty.signal();
  }

  abort(): void {
    // The space is taken (TAIL moved past it, and other producers may have claimed beyond it),
    // so it cannot be handed back; it is committed as padding records the consumer steps over.
    const n = this.claimed;
    if (n === 0) return;
    const words = this.words;
    // A padding record's length word is the whole space to skip (the aligned record size).
    const size = ringRecordBytes(this.claimedLength - RING_RECORD_HEADER_BYTES);
    for (let i = n - 1; i >= 0; i--) {
      const at = (this.offsetOf(i) - RING_RECORD_HEADER_BYTES) >> 2;
      words[at + 1] = RecordType.PADDING;
      if (i > 0) words[at] = size;
      else Atomics.store(words, at, size);
    }
    this.claimed = 0;
    this.notEmpty.signal();
  }

  counters(): BackendCounters {
    return { casFailures: this.casFailures, headReads: this.headReads };
  }
}

export class MpscRingConsumer extends RingConsumerSide {
  private head: number;
  private backOffs = 0;
  private yields = 0;
  private stalledAt = -1;
  private stalledFor = 0;
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));
  /** Keeps the back-off loop from being optimised away; always a small integer (see backOff). */
  sink = 0;

  constructor(memory: SharedArrayBuffer) {
    super(memory, MPSC_WORDS);
    this.head = Atomics.load(this.words, HEAD);
  }

  drain(max: number, visit: MessageVisitor): number {
    const words = this.words;
    const start = this.head;
    // Never past the tail seen now: what is read is zeroed only after the loop, so a drain
    // allowed to run a whole lap would meet its own records again.
    const tail = Atomics.load(words, TAIL);
    let h = start;
    let n = 0;
    // `h` moves past a record only after its visit returns: when a visit throws, the `finally`
    // consumes exactly the records visited, and the throwing one stays (contract.ts).
    try {
      while (n < max && h !== tail) {
        const at = DATA_OFFSET + (h & this.mask);
        const recordLength = Atomics.load(words, at >> 2);
        if (recordLength === 0) {
          // Claimed, not yet committed: its producer is writing this very cache line. Polling it
          // at once would pull the line back on every write the producer makes, so leave it
          // alone for a moment (measured: ~2× the single-producer throughput on 2 cores).
          if (n === 0) this.waitOnUncommitted(at);
          break;
        }
        if (words[(at >> 2) + 1] === RecordType.PADDING) {
          h = (h + recordLength) | 0;
          continue;
        }
        visit(this.bytes, at + RING_RECORD_HEADER_BYTES, recordLength - RING_RECORD_HEADER_BYTES);
        n++;
        h = (h + ringRecordBytes(recordLength - RING_RECORD_HEADER_BYTES)) | 0;
      }
    } finally {
      if (h !== start) this.release(start, h);
    }
    return n;
  }

  /** Zeroes what was read and gives it back: a later record's length word may land anywhere in it. */
  private release(start: number, h: number): void {
    zeroRange(this.doubles, DATA_OFFSET, this.mask, start, (h - start) | 0);
    Atomics.store(this.words, HEAD, h);
    this.head = h;
    this.notFull.signal();
  }

  private waitOnUncommitted(at: number): void {
    if (at === this.stalledAt) {
      if (++this.stalledFor >= STALLED_BACK_OFFS) {
        this.stalledFor = 0;
        this.yields++;
        Atomics.wait(this.pause, 0, 0, YIELD_MS);
      }
    } else {
      this.stalledAt = at;
      this.stalledFor = 0;
    }
    this.backOff();
  }

  private backOff(): void {
    this.backOffs++;
    // XOR, not a sum: 32 tails of a run past 64 MiB summed beyond int32, which deoptimised
    // backOff ("overflow") and, once the double reached `sink`, changed this object's field
    // representation, so drain and drainLoop deoptimised too ("wrong map"), inside the window.
    let x = 0;
    for (let i = 0; i < BACK_OFF_SPINS; i++) x ^= Atomics.load(this.words, TAIL);
    this.sink = x & SMALL_INTEGER;
  }

  // A record is there when its length word is (a claimed record's reads 0 until committed).
  protected readonly hasData = () => Atomics.load(this.words, (DATA_OFFSET + (this.head & this.mask)) >> 2) !== 0;

  counters(): BackendCounters {
    return { uncommittedBackOffs: this.backOffs, stalledProducerYields: this.yields };
  }
}
