/**
 * Values keyed by ascending numbers (offsets, delivery numbers), added at the back and taken
 * from the front: a topic's batches, the publishers owed their bytes, a member's deliveries.
 *
 *   keys   [ … | k0 k1 k2 k3 | … ]   ascending from `head`, `size` of them, in a circle
 *   values [ … | v0 v1 v2 v3 | … ]   the value of each key, at the same index
 *
 * Why not a Map: a Map of tens of thousands of entries that churn (one in and one out per
 * batch at batch 1) rehashes into a new table every few thousand deletions, and a table that
 * large is allocated straight into the old generation, where it stays until a full collection.
 * At 200k batches/s that was most of the broker's garbage (docs/broker.md, "Memory"). These two
 * arrays grow by doubling and are reused; taking and adding allocate nothing, but for halving
 * a queue past SHRINK_ABOVE entries once it is a quarter full.
 */
/** Queues at most this long never shrink (what churns at batch 1 stays put). */
const SHRINK_ABOVE = 4096;

export class OffsetQueue<T> {
  private keys: Float64Array;
  private values: (T | undefined)[];
  private head = 0;
  size = 0;

  constructor(capacity = 16) {
    const n = 2 ** Math.ceil(Math.log2(Math.max(2, capacity)));
    this.keys = new Float64Array(n);
    this.values = new Array<T | undefined>(n).fill(undefined);
  }

  /** Adds `value` under `key`, which must be above every key already here. */
  push(key: number, value: T): void {
    if (this.size === this.keys.length) this.grow();
    const at = (this.head + this.size) & (this.keys.length - 1);
    this.keys[at] = key;
    this.values[at] = value;
    this.size++;
  }

  /** The front's key (undefined when empty). */
  firstKey(): number | undefined {
    return this.size > 0 ? this.keys[this.head] : undefined;
  }

  /** The front's value (undefined when empty). */
  first(): T | undefined {
    return this.size > 0 ? this.values[this.head] : undefined;
  }

  /** Takes the front's value off (undefined when empty). */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const value = this.values[this.head];
    this.values[this.head] = undefined;
    this.head = (this.head + 1) & (this.keys.length - 1);
    this.size--;
    // A queue that once held a long backlog gives the memory back as it drains.
    if (this.keys.length > SHRINK_ABOVE && this.size < this.keys.length / 4) this.resize(this.keys.length / 2);
    return value;
  }

  /** The value under `key`, found by halving (keys ascend), or undefined. */
  get(key: number): T | undefined {
    const at = this.indexOf(key);
    return at < 0 ? undefined : this.values[at];
  }

  /** Replaces the value under `key`; false when the key is not here. */
  set(key: number, value: T): boolean {
    const at = this.indexOf(key);
    if (at < 0) return false;
    this.values[at] = value;
    return true;
  }

  /** Every value, front first (for what is rare: a member leaving). */
  *[Symbol.iterator](): IterableIterator<T> {
    const mask = this.keys.length - 1;
    for (let i = 0; i < this.size; i++) yield this.values[(this.head + i) & mask] as T;
  }

  clear(): void {
    this.values.fill(undefined);
    this.head = 0;
    this.size = 0;
  }

  private indexOf(key: number): number {
    const mask = this.keys.length - 1;
    // The common case first: the front (a trim, an acknowledgement in order).
    if (this.size > 0 && this.keys[this.head] === key) return this.head;
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[(this.head + mid) & mask];
      if (k === key) return (this.head + mid) & mask;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private grow(): void {
    this.resize(this.keys.length * 2);
  }

  private resize(capacity: number): void {
    const n = this.keys.length;
    const keys = new Float64Array(capacity);
    const values = new Array<T | undefined>(capacity).fill(undefined);
    for (let i = 0; i < this.size; i++) {
      keys[i] = this.keys[(this.head + i) & (n - 1)];
      values[i] = this.values[(this.head + i) & (n - 1)];
    }
    this.keys = keys;
    this.values = values;
    this.head = 0;
  }
}
