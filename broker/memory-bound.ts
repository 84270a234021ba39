/**
 * What the broker's resident memory may reach, as a function of its configuration and of how
 * many clients it serves: the formula of docs/broker.md ("The bound, as a formula"), written
 * once so that the docs and test/broker-memory-bound.test.ts say the same.
 *
 *   peak RSS ≤ runtime + code compiled once it serves
 *            + connections × (state + --max-preauth + --max-pending + output buffers + a first read)
 *            + publishing connections × 3 windows          (arena slabs: 2, own copies: 1)
 *            + frames being read: every connection may be inside a frame of up to a window
 *              (reserved as the span pool rounds it), all together at most --max-input
 *            + the span pool's free list (≤ 2 windows)
 *            + garbage: --heap-headroom in the heap + the young generation
 *                       + --heap-headroom of one-use buffers outside it
 *
 * `runtime` is what the broker process holds before any client: Node's own memory and the node
 * binary's pages (48 MiB idle here, launched as `nanomq broker`; 56 MiB with --log, whose code
 * is loaded only then), and the binary's pages serving brings in (its compiler: 5–6 MiB). Every other term is a limit the
 * broker enforces. It is an estimate that held where it was measured, not a guarantee:
 * - no flag bounds how fast garbage is made between two checks of the heap goal
 *   (broker/heap-goal.ts) and while its time budget holds a collection back; where every batch is
 *   copied into memory of its own (a window under four batches) the peak went past the formula
 *   (docs/broker.md, "The bound, as a formula");
 * - it counts the connections open at once over plain TCP, without --log: a closed connection's
 *   window stays until its batches are dropped (a group without members keeps them
 *   --group-idle), and TLS adds OpenSSL's state and buffers per connection.
 * glibc's free pages are given back once a second (broker/malloc-trim.ts).
 */
import type { BrokerLimits } from './limits.js';
import { BROKER_YOUNG_GENERATION_BYTES } from './node-flags.js';

/**
 * Code V8 compiles once the broker serves (its code space), beyond the runtime's: not set by any
 * flag; measured as the 2–4 MiB of anonymous memory a broker keeps after a first short load.
 */
const COMPILED_CODE_BYTES = 4 * 1024 * 1024;
/** Measured: an idle TCP connection costs ~15 KB, 12.7 KB of it Node's own socket (docs/broker.md). */
const CONNECTION_STATE_BYTES = 16 * 1024;
/** broker/outbox.ts: one 64 KiB buffer being filled and four spares, beyond what --max-pending holds. */
const OUTPUT_BUFFER_BYTES = 5 * 64 * 1024;
/** The first part of a frame that spans reads is copied out of one read: at most a read. */
const FIRST_READ_BYTES = 64 * 1024;
/** The span pool's unit (broker/span-pool.ts): a frame's memory is its length rounded up to it. */
const SPAN_UNIT_BYTES = 64 * 1024;

/** How many clients the broker serves. */
export interface ClientShape {
  /** Connections at once (publishers, subscribers and group members each count theirs). */
  connections: number;
  /** Of them, connections with a publisher open (each holds a window). */
  publishingConnections: number;
}

export interface MemoryTerm {
  name: string;
  bytes: number;
}

export interface MemoryBound {
  bytes: number;
  terms: MemoryTerm[];
}

/**
 * The bound for `clients` on a broker with `limits` and `heapHeadroomBytes`, above a runtime of
 * `runtimeBytes`. Null when the headroom is 0: V8 then keeps garbage by its own policy (up to
 * four times what is alive), which no flag bounds.
 */
export function brokerMemoryBound(runtimeBytes: number, limits: BrokerLimits, heapHeadroomBytes: number, clients: ClientShape): MemoryBound | null {
  if (heapHeadroomBytes <= 0) return null;
  const window = limits.windowBytes;
  // Each publishing connection reserves a window of --max-buffered; past that, OPEN_PUBLISHER is refused.
  const publishing = Math.min(clients.publishingConnections, Math.floor(limits.bufferedBytes / window));
  const terms: MemoryTerm[] = [
    { name: 'runtime (the broker before any client)', bytes: runtimeBytes },
    { name: 'code compiled once it serves', bytes: COMPILED_CODE_BYTES },
    {
      name: 'connections × (state + --max-preauth + --max-pending + output buffers + a first read)',
      bytes: clients.connections * (CONNECTION_STATE_BYTES + limits.preAuthBytes + limits.maxPendingBytes + OUTPUT_BUFFER_BYTES + FIRST_READ_BYTES),
    },
    { name: 'publishing connections × 3 windows (published batches)', bytes: publishing * 3 * window },
    {
      name: 'frames being read (a window a connection, at most --max-input)',
      bytes: Math.min(limits.inputBudgetBytes, clients.connections * Math.ceil((window + 16) / SPAN_UNIT_BYTES) * SPAN_UNIT_BYTES),
    },
    { name: "the span pool's free list", bytes: Math.min(2 * window, limits.inputBudgetBytes) },
    {
      name: 'garbage: --heap-headroom in the heap, the young generation, --heap-headroom outside',
      bytes: 2 * heapHeadroomBytes + BROKER_YOUNG_GENERATION_BYTES,
    },
  ];
  return { bytes: terms.reduce((sum, t) => sum + t.bytes, 0), terms };
}
