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
import type {
  Availability,
  BackendCounters,
  Durability,
  MessageVisitor,
  QueueDescriptor,
  QueueOptions,
  QueueTraits,
  WaitOutcome,
  WorkloadKind,
} from './contract.js';

/** Where a server listens, and what a client must present to it. */
export interface ServerAddress {
  /** `tcp://host:port`; a cluster lists several, comma-separated. */
  readonly url: string;
  readonly token?: string;
}

/** A server the harness started for a suite; stopped when the suite ends, whatever happens. */
export interface RunningServer extends ServerAddress {
  /** Its processes (a cluster: one per node), whose CPU, memory and run delay are measured. */
  readonly pids: readonly number[];
  /** What it is, for the result file (e.g. "nanomq broker 0.1.0 (memory)"). */
  readonly description: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves when every process is gone and its files removed. */
  stop(): Promise<void>;
}

/** What the harness asks of a server it starts. */
export interface ServerOptions {
  /** When a message counts as stored: a durable backend configures its server for it. */
  readonly durability: Durability;
  /** Nodes: 1 is a single server; more is a local cluster (backends with `cluster`). */
  readonly nodes: number;
}

/** What a case asks that a backend may not be able to give, beyond what its traits say. */
export interface CaseDemands {
  readonly workload: WorkloadKind;
  readonly durability?: Durability;
  readonly fault?: string;
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

/** Told what a consumer's visitor threw, once, after the consumer has stopped. */
export type ConsumerErrorHandler = (error: unknown) => void;

export interface AsyncConsumer {
  /**
   * Subscribes (joins the group, reads the stream): resolves once messages can arrive, and
   * from then on every message that arrives is handed to `visit`, in order, on the event loop.
   * Nothing is received before `start`, so no message can arrive without a visitor.
   *
   * When `visit` throws, the consumer stops for good: no later message reaches `visit`; the
   * messages whose visit returned are consumed; the one that threw is not acknowledged, so a
   * system that redelivers (a broker group, JetStream, a Redis Streams group) gives it to another
   * member, with whatever else it holds unacknowledged from this one; and `onError` is called
   * once with what `visit` threw, on a later turn of the event loop. `close()` still resolves.
   */
  start(visit: MessageVisitor, onError: ConsumerErrorHandler): Promise<void>;
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
  /** What a local cluster of this backend is, when it can start one (`servers: { id: { nodes: N } }`). */
  readonly cluster?: string;
  /** Starts a server for one suite, on ephemeral loopback ports; absent when the backend needs none. */
  startServer?(options: ServerOptions): Promise<RunningServer>;
  /** Why a case cannot run (a durability the server cannot give, a fault the system does not survive); undefined: it can. */
  unsupported?(demands: CaseDemands): string | undefined;
  /** A fresh queue (a topic, a stream) on the server: plain data, sent to each worker. */
  create(options: NetworkQueueOptions): QueueDescriptor;
  producer(descriptor: QueueDescriptor, index: number): Promise<AsyncProducer>;
  /** Connects; receives nothing until `start`. */
  consumer(descriptor: QueueDescriptor, index: number, options: ConsumerOptions): Promise<AsyncConsumer>;
  /** Removes what `create` and the trial left on the server (a stream, a key): called once the trial's workers are gone. */
  destroy?(descriptor: QueueDescriptor): Promise<void>;
}
