/**
 * The result file (schema `nanomq.result/1`, docs/result-file.md): the floor of the harness,
 * importing nothing that runs (.dependency-cruiser.cjs).
 * Figures a workload does not measure are absent, never zero.
 */

import type { CaseParams } from '../scenario/plan.js';
import type { Scenario, Workload } from '../scenario/schema.js';

export const RESULT_SCHEMA = 'nanomq.result/1';

// ---- Where and with what a run was made (harness/calibration/environment.ts measures it) ----

export interface LatencySummary {
  p50?: number;
  p90?: number;
  p99?: number;
  p999?: number;
  max: number;
  count: number;
  histogram: string;
  /** Percentiles left out because too few samples lie beyond them to estimate them. */
  warnings?: string[];
}

export interface WaitCounters {
  /** Times the queue was found full (producer side) or empty (consumer side). */
  stalls: number;
  /** Times the thread went to sleep. */
  sleeps: number;
  /** Sleeps ended by the other side's notify. */
  wakes: number;
  /** Sleeps ended by the timeout. */
  timeouts: number;
}

export interface ClockCalibration {
  /** Smallest non-zero step seen between two consecutive reads. */
  resolutionNs: number;
  /** Mean cost of one read. */
  overheadNs: number;
  /** How far this thread's nowNs may sit from process.hrtime (half the best bracket; 0 via the addon). */
  offsetErrorNs?: number;
  /** What nowNs reads (CLOCK_SOURCE). */
  source?: string;
}

export interface BoundaryCost {
  /** One claim+commit+drain of a header-only message on sab-spsc (JavaScript ring). */
  jsPushPopNs: number;
  /** The same through the native backend: four N-API calls. */
  napiPushPopNs?: number;
  /** napiPushPopNs − jsPushPopNs: what the boundary adds per message at batch 1. */
  boundaryNs?: number;
  note?: string;
}

export interface HarnessOverhead {
  /** Per message, batch 1: claim + envelope write + commit + drain + delivery check. */
  perMessageNs: number;
  /** The same in batches of 256. */
  perMessageBatchedNs: number;
}

export interface SchedulerNoise {
  spinMs: number;
  /** Gaps longer than GAP_NS between consecutive clock reads. */
  gaps: number;
  /** Share of the spin spent in those gaps, in percent. */
  lostPct: number;
  maxGapNs: number;
}

export interface MachineLoad {
  /** Whole-machine CPU use in the second before the suite, in % of all cores. */
  cpuBusyPct: number;
  /** 1, 5 and 15-minute load averages. */
  loadAverage: [number, number, number];
  freeMemoryBytes: number;
}

export interface LatencyFloor {
  ratePerSec: number;
  durationMs: number;
  samples: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** What the probe is, in one line (for reports). */
  method: string;
}

/** Network suites with ping-pong: bare TCP round trips in the broker's topology (calibration/network-floor.ts), ns. */
/** The disk under the write-ahead log (calibration/disk-sync.ts). Times in ns. */
export interface DiskSync {
  /** The directory measured (where the `wal` backend's logs go). */
  dir: string;
  samples: number;
  fdatasyncNs: { p50: number; p99: number; max: number };
  /** 1 MiB writes into the page cache. */
  sequentialWriteBytesPerSec: number;
  /** The same, including the fdatasync that makes them durable. */
  sequentialSyncedBytesPerSec: number;
  method: string;
}

export interface NetworkFloor {
  roundTrips: number;
  p50: number;
  p90: number;
  p99: number;
  /** What the probe is, in one line (for reports). */
  method: string;
}

/** A server's throughput with clients that do no work per message: the most it carries here. */
export interface ServerCeiling {
  /** The server, as its RunningServer describes itself (name and version). */
  server: string;
  /** Payload bytes per message. */
  payload: number;
  /** The median of the runs: messages one subscriber received per second from one publisher. */
  msgsPerSec: number;
  runs: number[];
  /** How it was measured, in one line. */
  method: string;
}

/**
 * A server a run used, under its key in `environment.servers`: the backend id, or
 * `<id>/durability=<policy>` for a server the harness configured for one durability. Read which
 * backend and durability from `backend` and `durability`, not from the key (files before they
 * were written have only the key).
 */
export interface ServerRecord {
  /** The backend it served. */
  backend?: string;
  /** How the harness configured it to store messages ('none' included); absent for a server the scenario named, which its owner configured. */
  durability?: string;
  url: string;
  description: string;
  /** True when the harness started it on this machine for the suite (its figures are then measured). */
  startedByHarness: boolean;
  /** Its process ids (a local cluster: one per node), when the harness started it (stopped again when the suite ended). */
  pids?: number[];
  /** Files written before `pids` replaced it: the one process id. */
  pid?: number;
}

export interface Environment {
  node: string;
  v8: string;
  os: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  gitCommit: string | null;
  startedAt: string;
  finishedAt?: string;
  clock: ClockCalibration;
  /** Single-thread cost of one message through sab-spsc and through the N-API boundary. */
  boundary: BoundaryCost;
  /** The harness's own per-message work on one thread, through the `null` backend. */
  harnessOverhead: HarnessOverhead;
  /** How often the machine takes a spinning thread off the CPU (measured before the run). */
  schedulerNoise?: SchedulerNoise;
  /** Anything that makes the figures less trustworthy (few cores, a dirty tree, …). */
  warnings: string[];
  /** How busy the machine was in the second before the suite (calibration/machine-load.ts). */
  machineBefore?: MachineLoad;
  /** The bare-ring latency floor at the suite's highest rate (calibration/latency-floor.ts); rate suites only. */
  latencyFloor?: LatencyFloor;
  networkFloor?: NetworkFloor;
  /**
   * Suites with `nats` throughput cases: nats-server's raw ceiling at each of their payloads
   * (calibration/nats-raw-ceiling.ts), the reference every broker's one-producer throughput is
   * shown against. Nothing in it is verified: a reference, never a case.
   */
  serverCeilings?: ServerCeiling[];
  /** Suites with durable backends: the disk's fdatasync latency and sequential write rate. */
  diskSync?: DiskSync;
  /** Servers of network backends, by backend id. */
  servers?: Record<string, ServerRecord>;
  [extra: string]: unknown;
}

// ---- Cases and their figures ----

export interface Correctness {
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupt: number;
}

export interface CpuFigures {
  /** Producer threads' CPU, in % of one core, summed over producers. */
  producerPct?: number;
  /** Consumer thread's CPU, in % of one core. */
  consumerPct?: number;
  /** The whole process (all threads, the coordinator too), in % of one core. */
  processPct?: number;
  /** The whole machine, in % of all its cores. */
  systemPct?: number;
  /**
   * CPU the machine spent outside this process during the window, in % of one core: other
   * programs competing with the measurement. Above OTHER_LOAD_LIMIT_PCT the case is flagged.
   */
  otherPct?: number;
  /** Why per-thread figures are missing, when they are. */
  unavailable?: string;
}

export interface MemoryFigures {
  /**
   * Peak resident set size of the whole process during the window. With `fork: none` the
   * process has run earlier cases too and keeps their high-water mark: use `fork: process`
   * when memory per case matters.
   */
  rssBytes: number;
  /** Resident set size when the trial started, before its queues and threads existed. */
  rssAtStartBytes?: number;
  /** V8 heap in use, all threads, at the end of the window (peak over trials in a summary). */
  heapBytes: number;
  /** SharedArrayBuffer bytes the queue(s) allocated. */
  sharedBytes: number;
}

export interface RateFigures {
  targetPerSec: number;
  achievedPerSec: number;
  /** How far below target, in percent (negative: above). */
  shortfallPct: number;
  /** True when more than 5% short of the target: the latency figures are then for a lower rate. */
  belowTarget: boolean;
  /** Messages due inside the window but not sent by STOP: in the latency figures at STOP − intended. */
  unsentAtStop?: number;
  /** Messages intended inside the window that arrived after STOP: in the latency figures as measured. */
  inFlightAtStop?: number;
}

/**
 * How the scheduler treated the measured threads inside the window: run delay is the time a
 * thread was runnable but waiting for a CPU, in % of its window (the worst producer thread on
 * the producer side); involuntary switches are preemptions (summed over the side's threads).
 * This, not the one-off probe before a suite, is what explains a long tail.
 */
export interface SchedulingFigures {
  producerRunDelayPct: number;
  consumerRunDelayPct: number;
  producerInvoluntarySwitches: number;
  consumerInvoluntarySwitches: number;
  producerVoluntarySwitches: number;
  consumerVoluntarySwitches: number;
}

/**
 * The server a network backend's clients talk to, inside the window: present when the harness
 * started it on this machine (a server named by `servers:` runs elsewhere and is not measured).
 */
export interface ServerFigures {
  /** CPU of all the server's threads, in % of one core. */
  cpuPct?: number;
  /**
   * The server's CPU time per million of what the case counts in msg/s, in seconds: cpuPct / 100
   * × 10^6 / msgsPerSec. That is per delivery (a fan-out's every subscriber's copy, a group's
   * every member's) and, for ping-pong, per round trip (two messages through the server). What a
   * delivery costs the server: comparable across servers within one workload (a rate case's
   * server is woken more often per message than a closed loop's). In summaries, the median of
   * the trials' ratios.
   */
  cpuSecondsPerMillionMessages?: number;
  /** Peak resident set of the server process in the window (VmHWM, reset as the window opened). */
  peakRssBytes?: number;
  /** The busiest server thread's time runnable but waiting for a CPU, in % of the window. */
  runDelayPct?: number;
  /** A local cluster: its nodes (CPU and peak RSS are their sums). Absent for one server. */
  nodes?: number;
  /** Why some of the above are missing. */
  unavailable?: string;
}

export type SloVerdict = 'pass' | 'fail';

export interface Figures {
  msgsPerSec?: number;
  bytesPerSec?: number;
  /** Throughput and ping-pong: from the send timestamp (ping-pong: round trip). Rate: from the intended send time. */
  latencyNs?: LatencySummary;
  /** Rate only: from the actual send time — what a closed-loop tool would report (coordinated omission). */
  serviceLatencyNs?: LatencySummary;
  /** Rate only: actual minus intended send time. */
  sendLagNs?: LatencySummary;
  rate?: RateFigures;
  cpu?: CpuFigures;
  memory?: MemoryFigures;
  /** Absent only when a trial failed before anything could be counted. */
  correctness?: Correctness;
  wait?: { producer: WaitCounters; consumer: WaitCounters };
  backendCounters?: Record<string, number>;
  /** Measure window length: the coordinator's (MEASURE to STOP on the shared clock), the reader's only where that is not known. */
  windowNs?: number;
  /** Per-thread scheduling inside the window, or why it is missing. */
  scheduling?: SchedulingFigures | { unavailable: string };
  /** Garbage collections that started inside the window, summed over the case's threads. */
  gc?: { count: number; pauseNs: number };
  /** Network backends: the server's own CPU, memory and run delay. */
  server?: ServerFigures;
}

export interface TrialResult extends Figures {
  trial: number;
  status: 'ok' | 'failed';
  reason?: string;
  pinned?: boolean;
  /** The process the trial ran in: differs from trial to trial with `fork: process`. */
  pid?: number;
  /** Record storage the queue really had (the scenario's `capacity` after the backend's rounding). */
  queueCapacityBytes?: number;
  /** Core-to-core round trip measured just before the trial: where the host had the cores (calibration/core-round-trip.ts). */
  coreRoundTripNs?: number;
  /** Run after the suite by `run --confirm-against`, because the case looked worse than its baseline (compare/follow-up.ts). */
  followUp?: boolean;
}

export interface CaseSummary extends Figures {
  msgsPerSecCi95?: [number, number];
  p99Ci95?: [number, number];
  slo?: Record<string, SloVerdict>;
  /** A latency SLO missed while a measured thread's run delay was ≥ SCHEDULER_BOUND_PCT. */
  schedulerBound?: boolean;
  /** Number of trials the summary is taken over. */
  trials: number;
}

/** What every case carries, whatever became of it. */
interface CaseHeader {
  id: string;
  backend: string;
  workload: Workload['kind'];
  params: CaseParams;
  oversubscribed: boolean;
  /** Busy threads equal the cores: the OS, the main thread and V8's helpers must preempt one. */
  noHeadroom?: boolean;
  busyThreads?: number;
  /** Whether producer and consumer threads were pinned to cores (scenario `pin: true`). */
  pinned?: boolean;
  trials: TrialResult[];
}

/** Every trial ran and measured: the summary is there. */
export interface OkCase extends CaseHeader {
  status: 'ok';
  /** Never set: declared so `c.reason` reads on any case. */
  reason?: never;
  summary: CaseSummary;
}

/** A trial failed (or the case could not start): the summary, if any, covers the trials that measured. */
export interface FailedCase extends CaseHeader {
  status: 'failed';
  reason: string;
  summary?: CaseSummary;
}

/** Not run, or interrupted: `reason` says which; trials that ran before an interruption are kept. */
export interface SkippedCase extends CaseHeader {
  status: 'skipped';
  reason: string;
  summary?: CaseSummary;
}

/** One case of a run, keyed on what became of it (status). */
export type CaseResult = OkCase | FailedCase | SkippedCase;

export const isOkCase = (c: CaseResult): c is OkCase => c.status === 'ok';

/** What `run --confirm-against` added: follow-up trials of the cases that looked worse than the baseline. */
export interface FollowUpRecord {
  /** The baseline the run was held against, as given. */
  against: string;
  /** Trials asked of each case followed up (marked `followUp` in its trials). */
  trials: number;
  /** The cases followed up, the figure that made each a suspect, and the trials it got (fewer when interrupted). */
  cases: { id: string; why: string; added: number }[];
}

/**
 * What `nanomq ab` adds to each of its two files: which side this is, and the other build. The
 * environment's calibrations (clock, boundary and harness costs, scheduler noise) were measured
 * once, by the build that ran `ab`, and are the same in both files; the trials are each side's own.
 */
export interface AbRecord {
  side: 'a' | 'b';
  /** This side's build (an absolute checkout folder); its commit is environment.gitCommit. */
  build: string;
  /** The build this one's trials alternated with. */
  other: string;
}

export interface ResultFile {
  schema: typeof RESULT_SCHEMA;
  scenario: Scenario & { file?: string };
  environment: Environment;
  cases: CaseResult[];
  followUp?: FollowUpRecord;
  ab?: AbRecord;
}
