/**
 * The queue contract every backend implements. The harness knows backends only through this file
 * and the registry; a backend knows nothing of scenarios, workloads or result files.
 *
 * Life of a queue:
 *   coordinator:  backend.create(options)  ->  descriptor (structured-cloneable)
 *   worker:       backend.producer(descriptor, i) / backend.consumer(descriptor, i)
 *
 * Hot paths pass numbers, not objects: a claim returns how many records were reserved and the
 * caller asks for each record's byte offset in `producer.buffer`; a drain hands the callback
 * (buffer, offset, length) so no view is allocated per message.
 */

/** What a backend can serve; the planner skips cases outside these limits, with the reason. */
export interface QueueTraits {
  /** Most producers that may attach at once (1 for SPSC). */
  readonly maxProducers: number;
  /** Most consumers that may attach at once. */
  readonly maxConsumers: number;
  /** True when drain hands out views of the queue's own memory (no copy on the read side). */
  readonly zeroCopyRead: boolean;
  /** True when a claim hands out the queue's own memory to write into (no copy on the write side). */
  readonly zeroCopyWrite: boolean;
  /** True when a thread can sleep until the other side makes progress (Atomics.wait/notify). */
  readonly canBlock: boolean;
  /** True when the backend's memory is a SharedArrayBuffer (its size is reported as shared memory). */
  readonly sharedMemory: boolean;
  /**
   * Workloads it can serve (the planner skips the others, with the reason). Absent: throughput,
   * ping-pong and rate; fan-out and consumer groups need topics, which only brokers have.
   */
  readonly workloads?: readonly WorkloadKind[];
  /** True for backends on the asynchronous contract (network-contract.ts): sockets, brokers. */
  readonly network?: boolean;
  /**
   * True when producer and consumer loops run outside JavaScript (native threads): the harness
   * then calls `runThreads` from one worker instead of attaching a producer and a consumer.
   */
  readonly selfDriven?: boolean;
  /** False for `null`, which moves counts but no bytes (conformance and stress tests skip it). */
  readonly carriesBytes?: boolean;
  /**
   * True when the queue keeps messages on disk and honours `QueueOptions.durability` (the `wal`
   * log). The planner runs other backends only with durability `none`, and says why.
   */
  readonly durable?: boolean;
}

/** How durable a message must be before the consumer may see it (wal/log.ts says what each means). */
export const DURABILITIES = ['none', 'batch', 'always'] as const;
export type Durability = (typeof DURABILITIES)[number];

export type WorkloadKind = 'throughput' | 'ping-pong' | 'rate' | 'fan-out' | 'consumer-group';

/** What an in-process queue serves when its traits do not say. */
export const QUEUE_WORKLOADS: readonly WorkloadKind[] = ['throughput', 'ping-pong', 'rate'];

/** The traits every single-producer single-consumer queue in a SharedArrayBuffer shares. */
export const SPSC_IN_SHARED_MEMORY = { maxProducers: 1, maxConsumers: 1, zeroCopyRead: true, zeroCopyWrite: true, sharedMemory: true } as const;

export interface QueueOptions {
  /** Bytes of record storage (rounded up to a power of two by ring backends). */
  readonly capacityBytes: number;
  /** Producers that will attach (some backends size per-producer state by it). */
  readonly producers: number;
  /** Consumers that will attach. */
  readonly consumers: number;
  /** Largest message (envelope) in bytes that will be written; backends refuse larger ones. */
  readonly maxMessageBytes: number;
  /**
   * Test-only: the byte position (a 32-bit counter, as an Int32) that head and tail start at, so
   * tests can cross the 2^31 and 2^32 wrap points without moving 4 GiB first. Ring backends
   * honour it; others ignore it. Never set by scenarios.
   */
  readonly startPosition?: number;
  /** For durable backends (traits.durable): when an append counts as done. Default `none`. */
  readonly durability?: Durability;
}

/** Plain data plus SharedArrayBuffers and MessagePorts: whatever survives postMessage. */
export type QueueDescriptor = {
  readonly backend: string;
  /** Bytes of shared memory this queue allocated (reported in results). */
  readonly sharedBytes: number;
  /**
   * Bytes of record storage the queue really has, after the backend's rounding (rings: a power
   * of two holding two of the largest records). Results record it beside the scenario's figure.
   */
  readonly capacityBytes?: number;
  /** MessagePorts inside the descriptor, which must be listed in postMessage's transfer list. */
  readonly transfer?: readonly MessagePortLike[];
  readonly [key: string]: unknown;
};

/** Structural stand-in for worker_threads.MessagePort, so this file stays free of Node imports. */
export interface MessagePortLike {
  close(): void;
}

/** Outcome of waiting for the other side. */
export type WaitOutcome = 'woken' | 'timed-out' | 'not-needed';

/** Counters a backend keeps about itself (e.g. failed CAS attempts); summed over threads. */
export type BackendCounters = Record<string, number>;

export interface Producer {
  /**
   * The memory that claimed offsets refer to. Read it after each claim: a backend that
   * copies on send (post-message) may hand out a different scratch buffer for each claim.
   */
  readonly buffer: Uint8Array;
  /**
   * Reserve space for up to `max` records of `length` bytes each. Returns how many were
   * reserved: 0 when the queue is full (a normal outcome, never an exception).
   * Throws RangeError when `length` can never fit (larger than the queue allows), and
   * ClaimOpenError when the previous claim is still open (neither committed nor aborted): a
   * claim is one producer's private reservation, and a second one on top of it would either
   * deadlock (mutex) or leave a hole the consumer waits on forever (mpsc-cas).
   * Nothing is visible to consumers until `commit()`.
   */
  claim(max: number, length: number): number;
  /** Byte offset in `buffer` of the i-th record reserved by the last claim (0-based). */
  offsetOf(i: number): number;
  /** Publish every record of the last claim at once. No-op without an open claim. */
  commit(): void;
  /**
   * Give up the open claim: none of its records is ever delivered, and the queue stays usable
   * by the consumer and every other producer (mpsc-cas turns the claimed records into padding
   * the consumer steps over; mutex releases its lock). No-op without an open claim.
   */
  abort(): void;
  /** Copy one message in; false when full. Throws RangeError when it can never fit. */
  tryWrite(message: Uint8Array): boolean;
  /**
   * Optional: the producer has nothing to send for now (an open-loop gap). A backend that defers
   * work to batch it (the log's group commit) finishes it here, so nothing waits on the next send.
   */
  idle?(): void;
  /** Sleep until a consumer has probably made room, at most `timeoutMs`. */
  awaitSpace(timeoutMs: number): WaitOutcome;
  counters(): BackendCounters;
  /** Detach this producer. An open claim is aborted first (see `abort`), never left hanging. */
  close(): void;
}

/** What a writer of envelopes needs of a claim: where the claimed records are (sync and async producers alike). */
export type ClaimedRecords = Pick<Producer, 'buffer' | 'offsetOf'>;

/** What a sending loop needs of a producer, sync or async: claim, fill, commit (waiting is the loop's own). */
export type ClaimingSide = Pick<Producer, 'buffer' | 'offsetOf' | 'claim' | 'commit'>;

/** Sees one message in place: valid only until the drain that called it returns. */
export type MessageVisitor = (buffer: Uint8Array, offset: number, length: number) => void;

export interface Consumer {
  /**
   * Hand up to `max` messages to `visit` in order; returns how many (0 when empty).
   * When `visit` throws, the drain stops there and rethrows: every message whose visit returned
   * is consumed (never delivered again), and the message whose visit threw stays in the queue,
   * first in line for the next drain (so `tryRead` with a too-small destination loses nothing).
   */
  drain(max: number, visit: MessageVisitor): number;
  /** Copy one message into `destination`; returns its length, or -1 when empty. */
  tryRead(destination: Uint8Array): number;
  /** Sleep until a producer has probably published, at most `timeoutMs`. */
  awaitData(timeoutMs: number): WaitOutcome;
  counters(): BackendCounters;
  close(): void;
}

export interface Availability {
  readonly available: boolean;
  /** Why not (or a note when available); shown by `nanomq list` and in skipped cases. */
  readonly reason?: string;
}

export interface QueueBackend {
  readonly id: string;
  readonly description: string;
  readonly traits: QueueTraits;
  available(): Availability;
  create(options: QueueOptions): QueueDescriptor;
  /**
   * The part of the descriptor that one worker needs. MessagePorts can be transferred only
   * once, so a backend with a port per producer hands each worker its own. Default: all of it.
   */
  select?(descriptor: QueueDescriptor, role: 'producer' | 'consumer', index: number): QueueDescriptor;
  producer(descriptor: QueueDescriptor, index: number): Producer;
  consumer(descriptor: QueueDescriptor, index: number): Consumer;
  /**
   * Optional: frees what `create` made outside shared memory (the log's directory), after every
   * producer and consumer has closed. Called by whoever called `create`.
   */
  destroy?(descriptor: QueueDescriptor): void;
}

/** Thrown by `claim` while the producer's previous claim is still open: the caller's mistake. */
export class ClaimOpenError extends Error {
  constructor() {
    super('claim while the previous claim is still open: commit() or abort() it first');
    this.name = 'ClaimOpenError';
  }
}

/** Thrown for a message that can never fit: the caller's mistake, not a full queue. */
export class MessageTooLargeError extends RangeError {
  constructor(length: number, limit: number) {
    super(`message of ${length} bytes exceeds this queue's limit of ${limit} bytes`);
    this.name = 'MessageTooLargeError';
  }
}
