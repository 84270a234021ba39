/**
 * The broker's garbage, bounded: a full collection once the heap has grown `headroomBytes` past
 * what the last one left alive, as Go's collector (GOGC, GOMEMLIMIT) bounds nats-server's, and
 * never more than a tenth of the main thread's time spent in them; a young-generation one
 * for one-use buffers outside the heap (below), under a budget of its own, also a tenth; and a
 * trim of glibc's heap, a third budget (below). Together at most three tenths, in practice far
 * less: a trim takes well under a millisecond a second.
 *
 * Why: a batch stays in the broker until every reader is done with it, tens of milliseconds at
 * batch 1, long enough to outlive two young-generation collections and be moved to the old
 * generation. V8 lets garbage collect there until the old generation reaches a limit it sets
 * from its own speed, up to four times what was alive after its last full collection (first
 * ~128 MiB on a machine with this much memory): a broker with ~15 MiB alive peaked at 150-170
 * MiB at batch 1 (docs/broker.md, "Memory"). A hard cap (`--max-old-space-size`) bounds that too,
 * but kills the process when what is alive reaches it; this never does: what is alive is
 * bounded by the broker's limits, and the garbage by the headroom plus what is made while the
 * time budget holds a collection back (after one of 30 ms, none for 300 ms).
 *
 * Cost: one `v8.getHeapStatistics()` per check (every `everyMs`), and a full collection each
 * time the headroom fills (a pause of a few milliseconds at this heap size), at most one per
 * check, and after one that took t, none for 10 t.
 *
 * Memory made for one read or one frame is garbage too, outside the heap: a socket read into a
 * buffer of its own (TLS connections, and every connection on a Node where
 * broker/shared-reads.ts cannot give the broker's one read buffer), the first part of a frame
 * that spans reads and the whole of one up to 64 KiB (longer ones take the span pool's memory,
 * broker/span-pool.ts, which is told here only of what the pool drops). The broker copies what
 * it keeps out of them and drops them at once, but their memory is given back only when V8 next
 * collects its young generation. V8 does that when the young generation's 2 × 1 MiB fill with
 * objects; large frames make few objects, so at payload 1 KiB, batch 256, such buffers waiting
 * for it reached 20–30 MiB (`process.memoryUsage().arrayBuffers`). So `countTransient` starts a
 * young-generation collection (a scavenge: well under a millisecond at this size) once the
 * broker has made `headroomBytes` of them since the last one it started, and none for 10 t after
 * one that took t. What is made while the budget holds one back waits for the next.
 * Not bounded here: V8's helper threads' share of a collection (off the main thread's clock),
 * and a forced scavenge right after one V8 ran by itself (not observable cheaply), which moves
 * batches still in flight to the old generation sooner.
 *
 * What is freed goes back to glibc, which keeps it inside its heap when chunks still in use sit
 * above it. With `trim` (glibc's malloc_trim, broker/malloc-trim.ts) the free pages go back to
 * the system once a second (`TRIM_EVERY_MS`), right after any collection of that check, and
 * never more often than 10 t after one that took t (a trim over this heap takes well under a
 * millisecond). Counting array buffers in what the heap holds (heldBytes) has a cost: live
 * buffers count as growth too, so a backlog that grows by the headroom starts a full collection
 * that frees little; the time budget caps those at a tenth of the main thread. Measured with the 4 MiB default
 * headroom (docs/broker.md, "What the broker's memory is"): `scenarios/brokers.yaml`'s broker
 * cases peaked at 70–97 MiB, against 68–106 MiB with 8 MiB and no trim, at the same CPU per
 * message within the runs' spread. Trimming at every check (50 ms) cost up to 1.8× the CPU per
 * message at batch 256, for peaks not clearly lower (one run each).
 */
import { getHeapStatistics } from 'node:v8';
import type { MallocTrim } from './malloc-trim.js';

/**
 * What the heap holds, objects and the memory of array buffers together. The buffers count too:
 * a batch the broker copied into memory of its own (larger than half an arena slab, or when every
 * slab is held) dies in the old generation, and its memory goes back only at a full collection.
 * Counting the heap alone, 272 KiB batches under a 1 MiB window went past the memory formula in 2
 * of 6 runs of test/broker-memory-bound.test.ts's smaller configuration (once to 128 MiB), and in
 * none of 6 with the buffers counted (docs/broker.md, "The bound, as a formula").
 */
function heldBytes(): number {
  const s = getHeapStatistics();
  return s.used_heap_size + s.external_memory;
}

/** `--heap-headroom`'s default. */
export const DEFAULT_HEAP_HEADROOM_BYTES = 4 * 1024 * 1024;
/** How often the allocator's free pages are given back (`HeapGoalOptions.trim`). */
export const TRIM_EVERY_MS = 1000;

export interface HeapGoal {
  /** Full collections this policy started. */
  readonly collections: number;
  /** Young-generation collections it started for one-use buffers (countTransient). */
  readonly scavenges: number;
  /** malloc_trim calls it made (broker/malloc-trim.ts), and the milliseconds they took. */
  readonly trims: number;
  readonly trimMs: number;
  /** The broker made `bytes` outside the heap for one read or one frame (garbage once handled). */
  countTransient(bytes: number): void;
  stop(): void;
}

export interface HeapGoalOptions {
  /** How often the heap is looked at (ms). */
  everyMs?: number;
  /** The clock (ms), a test's own. */
  now?: () => number;
  /** Gives glibc's free pages back (broker/malloc-trim.ts); null: nothing to trim with. */
  trim?: MallocTrim | null;
  /** At most one trim this often (ms). */
  trimEveryMs?: number;
}

/** Starts the policy when the process exposes `gc` (the broker's V8 flags do); null otherwise. */
export function startHeapGoal(headroomBytes: number, options: HeapGoalOptions = {}): HeapGoal | null {
  const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
  if (typeof gc !== 'function' || headroomBytes <= 0) return null;
  const everyMs = options.everyMs ?? 50;
  const now = options.now ?? (() => performance.now());
  const trim = options.trim ?? null;
  const trimEveryMs = options.trimEveryMs ?? TRIM_EVERY_MS;
  let trims = 0;
  let trimMs = 0;
  let trimNotBefore = 0;
  let alive = heldBytes();
  let collections = 0;
  let notBefore = 0;
  let scavenges = 0;
  let readSince = 0;
  let scavengeNotBefore = 0;
  const collectIfDue = (): void => {
    const used = heldBytes();
    // What is alive is never more than what is used: V8's own collections lower the mark too.
    alive = Math.min(alive, used);
    if (used < alive + headroomBytes) return;
    // At most a tenth of the time in these collections: a large live heap (a long backlog of
    // small batches) takes longer to mark, and is then marked less often.
    const started = now();
    if (started < notBefore) return;
    gc();
    notBefore = started + (now() - started) * 10;
    collections++;
    alive = heldBytes();
  };
  // After a collection, so that what it freed goes back in the same check.
  const trimIfDue = (): void => {
    if (trim === null) return;
    const started = now();
    if (started < trimNotBefore) return;
    trim();
    const took = now() - started;
    trims++;
    trimMs += took;
    trimNotBefore = started + Math.max(trimEveryMs, took * 10);
  };
  const timer = setInterval(() => {
    collectIfDue();
    trimIfDue();
  }, everyMs);
  timer.unref();
  return {
    get collections() {
      return collections;
    },
    get scavenges() {
      return scavenges;
    },
    get trims() {
      return trims;
    },
    get trimMs() {
      return trimMs;
    },
    countTransient(bytes: number): void {
      readSince += bytes;
      if (readSince < headroomBytes) return;
      const started = now();
      if (started < scavengeNotBefore) return;
      readSince = 0;
      gc({ type: 'minor' });
      scavengeNotBefore = started + (now() - started) * 10;
      scavenges++;
    },
    stop: () => clearInterval(timer),
  };
}
