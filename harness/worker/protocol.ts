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

/** What every worker is told, whatever its role. */
interface TaskBase {
  index: number;
  backend: string;
  /** The queue this worker writes to (producer, pinger, ponger) or reads from (consumer). */
  queue: QueueDescriptor;
  control: SharedArrayBuffer;
  workload: WorkloadKind;
  params: CaseParams;
  verifyCrc: boolean;
  /** CPU to pin this thread to, when the scenario asks for pinning. */
  pinCpu?: number;
}

/** Scenario `stall`: sleep `durationMs` after every `every` messages. */
export interface Stall {
  every: number;
  durationMs: number;
}

export interface ProducerTask extends TaskBase {
  role: 'producer';
}

export interface ConsumerTask extends TaskBase {
  role: 'consumer';
  /** consumer-group: the group this consumer joins. */
  group?: string;
  /** consumer-group: the shared record of what every member received (group-delivery-check.ts). */
  ledger?: SharedArrayBuffer;
  stall?: Stall;
}

/** ping-pong: writes `queue`, reads the replies from `reply`. */
export interface PingerTask extends TaskBase {
  role: 'pinger';
  reply: QueueDescriptor;
}

/** ping-pong: reads `queue`, echoes into `reply`. */
export interface PongerTask extends TaskBase {
  role: 'ponger';
  reply: QueueDescriptor;
  stall?: Stall;
}

/** One worker that runs a self-driven backend's own threads and reports for both sides. */
export interface DriverTask extends TaskBase {
  role: 'driver';
  /** ping-pong only. */
  reply?: QueueDescriptor;
  /** CPUs for the native producer and consumer threads; -1: not pinned. */
  pinProducer: number;
  pinConsumer: number;
}

/** What the coordinator hands a worker (its workerData), keyed on the worker's role. */
export type WorkerTask = ProducerTask | ConsumerTask | PingerTask | PongerTask | DriverTask;
export type Role = WorkerTask['role'];

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
