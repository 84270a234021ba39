/**
 * The asynchronous side of the queue contract, for backends whose sends and receives complete
 * on the event loop: sockets and broker clients (the NanoMQ broker, NATS, Redis). A Node socket
 * cannot be written or read synchronously, so these backends cannot implement contract.ts; the
 * harness runs them with its own loops (harness/worker/network-roles.ts), which keep every
 * figure, check and phase of the synchronous ones.
 *
 * What stays the same: records are envelopes written in place (`claim` / `offsetOf` / `commit`,
 * as in contract.ts) and read in place through a MessageVisitor. What differs:
 * - `commit` queues a batch; it leaves the process when the event loop turns (or at `flush`).
 * - Waiting is a promise (`awaitSpace`), never a blocked thread: the reply that makes room
 *   arrives on the same event loop.
 * - A consumer is pushed messages (`start`), as a socket is pushed data.
 * - A backend may need a server, started for the suite by the harness (`server`), or named by
 *   the scenario's `servers:` map when someone else runs it.
 */
import type { Availability, BackendCounters, MessageVisitor, QueueDescriptor, QueueOptions, QueueTraits, WaitOutcome } from './contract.js';

/** Where a server listens, and what a client must present to it. */
export interface ServerAddress {
  /** `tcp://host:port`; a cluster lists several, comma-separated. */
  readonly url: string;
  readonly token?: string;
}

/** A server the harness started for a suite; stopped when the suite ends, whatever happens. */
export interface RunningServer extends ServerAddress {
  /** The server's process id, for its CPU, memory and run delay (undefined: not a local process). */
  readonly pid: number | undefined;
  /** What it is, for the result file (e.g. "nanomq broker 0.1.0 (memory)"). */
  readonly description: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  stop(): Promise<void>;
}

export interface NetworkQueueOptions extends QueueOptions {
  readonly server: ServerAddress;
}

export interface AsyncProducer {
  /** The memory `offsetOf` refers to; read it after each claim (it moves when a send buffer fills). */
  readonly buffer: Uint8Array;
  /** Reserves up to `max` records of `length` bytes; 0 while flow control says wait. */
  claim(max: number, length: number): number;
  offsetOf(i: number): number;
  /** Queues the claimed records for sending. */
  commit(): void;
  /** Sends everything committed now rather than when the event loop next turns. */
  flush(): void;
  /** Resolves when a claim may succeed again (or after `timeoutMs`). */
  awaitSpace(timeoutMs: number): Promise<WaitOutcome>;
  counters(): BackendCounters;
  close(): Promise<void>;
}

export interface AsyncConsumer {
  /** From now on, every message that arrives is handed to `visit`, in order, on the event loop. */
  start(visit: MessageVisitor): void;
  counters(): BackendCounters;
  /** Leaves gracefully (a group member's unacknowledged messages go to the others). */
  close(): Promise<void>;
}

export interface ConsumerOptions {
  /** Join this consumer group instead of receiving every message. */
  readonly group?: string;
}

export interface NetworkBackend {
  readonly id: string;
  readonly description: string;
  readonly traits: QueueTraits & { readonly network: true };
  available(): Availability;
  /** Starts a server for one suite, on an ephemeral loopback port; absent when the backend needs none. */
  startServer?(): Promise<RunningServer>;
  /** A fresh queue (a topic, a stream) on the server: plain data, sent to each worker. */
  create(options: NetworkQueueOptions): QueueDescriptor;
  producer(descriptor: QueueDescriptor, index: number): Promise<AsyncProducer>;
  consumer(descriptor: QueueDescriptor, index: number, options: ConsumerOptions): Promise<AsyncConsumer>;
}
