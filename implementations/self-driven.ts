/**
 * The protocol between the harness's `driver` worker role (harness/worker/self-driven-role.ts) and a
 * backend whose producer and consumer loops run outside JavaScript (`traits.selfDriven`: the
 * native threads). Unlike the queue contract (contract.ts), it speaks of workloads, payloads,
 * batches and the harness's control block, because such a backend's threads play the harness's
 * producer and consumer roles themselves. What they share with the harness in C++ (phase values,
 * the timestamp interval, the drain grace, the latency bucket layout) is held equal to the
 * TypeScript constants by test/mirrors.test.ts.
 */
import type { QueueBackend, QueueDescriptor } from './contract.js';

/** What a self-driven backend's threads measured, in the harness's own terms. */
export interface SelfDrivenSide {
  windowMessages: number;
  windowNs: number;
  cpuNs: number;
  pinned: boolean;
  pinError?: string;
}

export interface SelfDrivenReport {
  producer: SelfDrivenSide;
  consumer: SelfDrivenSide;
  sent: number;
  received: number;
  duplicated: number;
  reordered: number;
  corrupt: number;
  /**
   * Latency in ns (one-way for throughput, round trip for ping-pong) as bucket counts of a fixed
   * log-linear layout (harness/metrics/log-buckets.ts), recorded without allocating or capping.
   */
  latencyBuckets: Float64Array;
}

export interface SelfDrivenRun {
  queue: QueueDescriptor;
  reply?: QueueDescriptor;
  /** The harness's control block (harness/worker/control.ts): PHASE is word 0. */
  control: SharedArrayBuffer;
  pingPong: boolean;
  payload: number;
  batch: number;
  /** CPU for each thread, or -1 for no pinning. */
  pinProducer: number;
  pinConsumer: number;
}

export interface SelfDrivenBackend extends QueueBackend {
  /** Runs one trial on the backend's own threads; blocks the calling worker until they finish. */
  runThreads(run: SelfDrivenRun): SelfDrivenReport;
}

export function isSelfDriven(backend: QueueBackend): backend is SelfDrivenBackend {
  return backend.traits.selfDriven === true && typeof (backend as SelfDrivenBackend).runThreads === 'function';
}
