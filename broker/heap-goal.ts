/**
 * The broker's garbage, bounded: a full collection once the heap has grown `headroomBytes` past
 * what the last one left alive, as Go's collector (GOGC, GOMEMLIMIT) bounds nats-server's, and
 * never more than a tenth of the main thread's time spent in them; and a young-generation one
 * for one-use buffers outside the heap (below), under a budget of its own, also a tenth.
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
 */
import { getHeapStatistics } from 'node:v8';

export interface HeapGoal {
  /** Full collections this policy started. */
  readonly collections: number;
  /** Young-generation collections it started for one-use buffers (countTransient). */
  readonly scavenges: number;
  /** The broker made `bytes` outside the heap for one read or one frame (garbage once handled). */
  countTransient(bytes: number): void;
  stop(): void;
}

/** Starts the policy when the process exposes `gc` (the broker's V8 flags do); null otherwise. */
export function startHeapGoal(headroomBytes: number, everyMs = 50, now: () => number = () => performance.now()): HeapGoal | null {
  const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
  if (typeof gc !== 'function' || headroomBytes <= 0) return null;
  let alive = getHeapStatistics().used_heap_size;
  let collections = 0;
  let notBefore = 0;
  let scavenges = 0;
  let readSince = 0;
  let scavengeNotBefore = 0;
  const timer = setInterval(() => {
    const used = getHeapStatistics().used_heap_size;
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
    alive = getHeapStatistics().used_heap_size;
  }, everyMs);
  timer.unref();
  return {
    get collections() {
      return collections;
    },
    get scavenges() {
      return scavenges;
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
