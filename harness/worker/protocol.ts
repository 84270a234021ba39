/**
 * What the coordinator and a trial's workers say to each other.
 *
 *   coordinator ──workerData (WorkerTask)──▶ worker
 *   worker ──{ type: 'ready' }──▶ coordinator           attached, waiting for WARMUP
 *   worker ──{ type: 'report', report }──▶ coordinator   after STOP, all figures of this thread
 *   worker ──{ type: 'error', message }──▶ coordinator   anything thrown
 */
import type { BackendCounters, QueueDescriptor, WorkloadKind } from '../../implementations/contract.js';
import type { WaitCounters } from '../results/types.js';
import type { CaseParams } from '../scenario/plan.js';
import type { DeliveryCounts } from './delivery-check.js';
import type { WindowScheduling } from './measure-window.js';

/** `driver`: one worker that runs a self-driven backend's own threads and reports for both sides. */
export type Role = 'producer' | 'consumer' | 'pinger' | 'ponger' | 'driver';

export interface WorkerTask {
  role: Role;
  index: number;
  backend: string;
  /** The queue this worker writes to (producer, pinger, ponger) or reads from (consumer). */
  queue: QueueDescriptor;
  /** ping-pong only: the reply queue (pinger reads it, ponger writes it). */
  reply?: QueueDescriptor;
  control: SharedArrayBuffer;
  workload: WorkloadKind;
  /** consumer-group: the group this consumer joins. */
  group?: string;
  /** consumer-group: the shared record of what every member received (group-delivery-check.ts). */
  ledger?: SharedArrayBuffer;
  params: CaseParams;
  verifyCrc: boolean;
  /** CPU to pin this thread to, when the scenario asks for pinning. */
  pinCpu?: number;
  /** Consumer only: sleep `durationMs` after every `every` messages (scenario `stall`). */
  stall?: { every: number; durationMs: number };
  /** driver only: CPUs for the native producer and consumer threads (-1: no pinning). */
  pinProducer?: number;
  pinConsumer?: number;
}

export interface WorkerReport {
  /** The side this report speaks for (a driver reports as producer + consumer, or pinger + ponger). */
  role: Exclude<Role, 'driver'>;
  index: number;
  /** Messages this thread sent (producers) or received (consumers) inside the measure window. */
  windowMessages: number;
  /** Length of the measure window as this thread saw it. */
  windowNs: number;
  /** Messages sent in all (producer side), warm-up and drain included. */
  totalSent?: number;
  /** Thread CPU time inside the window; null where /proc/thread-self is missing. */
  cpuNs: number | null;
  /** Run delay and context switches inside the window; null where /proc/thread-self is missing. */
  scheduling: WindowScheduling | null;
  /** Garbage collections that started inside this thread's window, and their pauses. */
  gc?: { count: number; pauseNs: number };
  /** The window's edges on this thread's performance.now() (to match its GC entries). */
  windowPerfMs?: [number, number];
  /** Latency from the message's timestamp to its receipt (consumer, pinger: round trip). */
  latency?: string;
  /** rate workload: latency from the actual send time (what coordinated omission would show). */
  serviceLatency?: string;
  /** rate workload: actual − intended send time, on the producer. */
  sendLag?: string;
  /**
   * rate workload, producer: messages due inside the window but not yet sent at STOP, each
   * recorded with a latency of STOP − intended time (they were at least that late).
   */
  unsentAtStop?: { count: number; latency: string };
  /** rate workload, consumer: messages intended inside the window that arrived after STOP (recorded). */
  inFlightAtStop?: number;
  delivery?: DeliveryCounts & { problems: string[] };
  wait: WaitCounters;
  backendCounters: BackendCounters;
  heapUsedBytes: number;
  pinned?: boolean;
  pinError?: string;
}

export type WorkerMessage = { type: 'ready' } | { type: 'report'; report: WorkerReport } | { type: 'error'; message: string };
