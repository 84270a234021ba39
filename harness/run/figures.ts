/**
 * Turns one trial's worker reports and the coordinator's own samples into the figures of a
 * result file, and decides whether the trial delivered correctly.
 */
import type { CpuInfo } from 'node:os';
import { HEADER_BYTES } from '../../wire/envelope.js';
import { mergeHistograms, summarize } from '../metrics/histogram.js';
import { deliveryFailures } from '../results/case-verdicts.js';
import { RATE_SHORTFALL_LIMIT_PCT } from '../results/method.js';
import type { Correctness, CpuFigures, Figures, SchedulingFigures, ServerFigures, WaitCounters } from '../results/types.js';
import type { PlannedCase } from '../scenario/plan.js';
import type { WorkerReport } from '../worker/protocol.js';

export interface CoordinatorSamples {
  cpuStart: NodeJS.CpuUsage;
  cpuEnd?: NodeJS.CpuUsage;
  cpusStart: CpuInfo[];
  cpusEnd?: CpuInfo[];
  wallStartNs: number;
  wallEndNs?: number;
  peakRssBytes: number;
  rssAtStartBytes: number;
  mainHeapBytes: number;
  sharedBytes: number;
}

function machineBusyPct(start: CpuInfo[], end: CpuInfo[]): number {
  let busy = 0;
  let total = 0;
  end.forEach((cpu, i) => {
    const before = start[i]?.times;
    if (!before) return;
    const t = cpu.times;
    const idle = t.idle - before.idle;
    const all = t.user - before.user + (t.nice - before.nice) + (t.sys - before.sys) + (t.irq - before.irq) + idle;
    busy += all - idle;
    total += all;
  });
  return total > 0 ? (100 * busy) / total : 0;
}

function sumWait(reports: WorkerReport[]): WaitCounters {
  const total: WaitCounters = { stalls: 0, sleeps: 0, wakes: 0, timeouts: 0 };
  for (const r of reports) {
    total.stalls += r.wait.stalls;
    total.sleeps += r.wait.sleeps;
    total.wakes += r.wait.wakes;
    total.timeouts += r.wait.timeouts;
  }
  return total;
}

function sumCounters(reports: WorkerReport[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.backendCounters)) total[k] = (total[k] ?? 0) + v;
  return total;
}

function schedulingOf(producers: WorkerReport[], consumers: WorkerReport[]): SchedulingFigures | undefined {
  const all = [...producers, ...consumers];
  if (all.length === 0 || all.some((r) => r.scheduling === null || r.windowNs <= 0)) return undefined;
  const delayPct = (rs: WorkerReport[]) => Math.max(...rs.map((r) => (100 * r.scheduling!.runDelayNs) / r.windowNs));
  const sum = (rs: WorkerReport[], key: 'involuntarySwitches' | 'voluntarySwitches') => rs.reduce((s, r) => s + r.scheduling![key], 0);
  return {
    producerRunDelayPct: delayPct(producers),
    consumerRunDelayPct: delayPct(consumers),
    producerInvoluntarySwitches: sum(producers, 'involuntarySwitches'),
    consumerInvoluntarySwitches: sum(consumers, 'involuntarySwitches'),
    producerVoluntarySwitches: sum(producers, 'voluntarySwitches'),
    consumerVoluntarySwitches: sum(consumers, 'voluntarySwitches'),
  };
}

/** What the coordinator knows beyond the workers' reports. */
export interface TrialExtras {
  /** consumer-group: first and all deliveries over every member (group-delivery-check.ts), a killed member's included. */
  ledger?: { first: number; all: number };
  /** Network backends: the server's own figures. */
  server?: ServerFigures;
}

export function computeFigures(
  planned: PlannedCase,
  reports: WorkerReport[],
  samples: CoordinatorSamples,
  extras: TrialExtras = {},
): { figures: Figures; problem?: string } {
  const byRole = (role: WorkerReport['role']) => reports.filter((r) => r.role === role);
  const pingPong = planned.workload === 'ping-pong';
  // The threads whose windows define throughput: the consumers (subscribers, group members), or the ping-pong client.
  const readers = pingPong ? byRole('pinger') : byRole('consumer');
  const reader = readers[0];
  const writers = pingPong ? byRole('pinger') : byRole('producer');
  const echo = byRole('ponger')[0];

  const sent = writers.reduce((s, r) => s + (r.totalSent ?? 0), 0);
  const deliveries = [...readers.map((r) => r.delivery!), ...(echo?.delivery ? [echo.delivery] : [])];
  const sum = (key: 'received' | 'duplicated' | 'reordered' | 'corrupt') => deliveries.reduce((s, d) => s + d[key], 0);
  let correctness: Correctness;
  if (extras.ledger !== undefined) {
    // A group: every message must reach some member; the ledger saw every member's deliveries.
    const { first, all } = extras.ledger;
    correctness = { sent, received: all, lost: Math.max(0, sent - first), duplicated: all - first, reordered: sum('reordered'), corrupt: sum('corrupt') };
  } else {
    // One reader, or fan-out: each reader must receive every message.
    const lost = readers.reduce((s, r) => s + Math.max(0, sent - (r.delivery!.received - r.delivery!.duplicated)), 0);
    correctness = {
      sent,
      received: readers.reduce((s, r) => s + r.delivery!.received, 0),
      lost,
      duplicated: sum('duplicated'),
      reordered: sum('reordered'),
      corrupt: sum('corrupt'),
    };
  }

  const figures: Figures = { correctness };
  const problems: string[] = [];
  // The window is the one the coordinator defined (MEASURE to STOP on the shared clock), not
  // the reader's view of it: a reader asleep in a `block` wait notices STOP only when its wait
  // times out, which would stretch its window by up to that timeout (seen: 5% low at 500k/s).
  const windowNs = samples.wallEndNs !== undefined ? samples.wallEndNs - samples.wallStartNs : reader.windowNs;
  const windowMessages = readers.reduce((s, r) => s + r.windowMessages, 0);
  if (windowNs > 0 && windowMessages > 0) {
    // Messages received per second, summed over the receiving threads (fan-out: deliveries).
    figures.msgsPerSec = (windowMessages * 1e9) / windowNs;
    figures.bytesPerSec = figures.msgsPerSec * (HEADER_BYTES + planned.params.payload);
    figures.windowNs = windowNs;
  } else {
    problems.push('no message completed inside the measure window');
  }
  // Rate: messages due in the window but unsent at STOP count too, at least STOP − intended late.
  const unsent = writers.filter((r) => r.unsentAtStop && r.unsentAtStop.count > 0).map((r) => r.unsentAtStop!.latency);
  const latencies = readers.filter((r) => r.latency).map((r) => r.latency!);
  if (latencies.length > 0) figures.latencyNs = summarize(mergeHistograms([...latencies, ...unsent]));
  const service = reports.filter((r) => r.serviceLatency).map((r) => r.serviceLatency!);
  if (service.length > 0) figures.serviceLatencyNs = summarize(mergeHistograms(service));
  const lags = writers.filter((r) => r.sendLag).map((r) => r.sendLag!);
  if (lags.length > 0) figures.sendLagNs = summarize(mergeHistograms(lags));

  if (planned.params.rate !== undefined && figures.msgsPerSec !== undefined) {
    const target = planned.params.rate;
    const shortfallPct = (100 * (target - figures.msgsPerSec)) / target;
    figures.rate = {
      targetPerSec: target,
      achievedPerSec: figures.msgsPerSec,
      shortfallPct,
      belowTarget: shortfallPct > RATE_SHORTFALL_LIMIT_PCT,
      unsentAtStop: writers.reduce((s, r) => s + (r.unsentAtStop?.count ?? 0), 0),
      inFlightAtStop: readers.reduce((s, r) => s + (r.inFlightAtStop ?? 0), 0),
    };
  }

  const cpu: CpuFigures = {};
  const threadCpu = (rs: WorkerReport[]) =>
    rs.every((r) => r.cpuNs !== null && r.windowNs > 0) ? rs.reduce((s, r) => s + (100 * r.cpuNs!) / r.windowNs, 0) : undefined;
  const producerSide = pingPong ? byRole('pinger') : byRole('producer');
  const consumerSide = pingPong ? byRole('ponger') : byRole('consumer');
  const producerPct = threadCpu(producerSide);
  const consumerPct = threadCpu(consumerSide);
  if (producerPct !== undefined) cpu.producerPct = producerPct;
  if (consumerPct !== undefined) cpu.consumerPct = consumerPct;
  if (producerPct === undefined || consumerPct === undefined) cpu.unavailable = 'per-thread CPU needs /proc/thread-self/schedstat (Linux)';
  if (samples.cpuEnd && samples.wallEndNs) {
    const wallNs = samples.wallEndNs - samples.wallStartNs;
    cpu.processPct = (100 * (samples.cpuEnd.user + samples.cpuEnd.system) * 1e3) / wallNs;
  }
  if (samples.cpusEnd) {
    cpu.systemPct = machineBusyPct(samples.cpusStart, samples.cpusEnd);
    // The case's own server (a child process) is part of the case, not "other programs".
    const serverPct = extras.server?.cpuPct ?? 0;
    if (cpu.processPct !== undefined) cpu.otherPct = Math.max(0, cpu.systemPct * samples.cpusEnd.length - cpu.processPct - serverPct);
  }
  figures.cpu = cpu;

  figures.memory = {
    rssBytes: samples.peakRssBytes,
    rssAtStartBytes: samples.rssAtStartBytes,
    heapBytes: samples.mainHeapBytes + reports.reduce((s, r) => s + r.heapUsedBytes, 0),
    sharedBytes: samples.sharedBytes,
  };
  figures.wait = { producer: sumWait(producerSide), consumer: sumWait(consumerSide) };
  const scheduling = schedulingOf(producerSide, consumerSide);
  figures.scheduling = scheduling ?? { unavailable: 'per-thread scheduling needs /proc/thread-self/schedstat and status (Linux)' };
  const gcs = reports.filter((r) => r.gc !== undefined);
  if (gcs.length > 0) figures.gc = { count: gcs.reduce((s, r) => s + r.gc!.count, 0), pauseNs: gcs.reduce((s, r) => s + r.gc!.pauseNs, 0) };
  figures.backendCounters = sumCounters(reports);
  if (extras.server) {
    const { cpuPct } = extras.server;
    figures.server =
      cpuPct !== undefined && figures.msgsPerSec !== undefined
        ? { ...extras.server, cpuSecondsPerMillionMessages: ((cpuPct / 100) * 1e6) / figures.msgsPerSec }
        : extras.server;
  }

  const { lost, duplicated: dup, reordered, corrupt } = correctness;
  if (deliveryFailures(correctness, planned.params) > 0) {
    const details = deliveries.flatMap((d) => d.problems).slice(0, 3);
    problems.push(
      `delivery errors: ${lost} lost, ${dup} duplicated, ${reordered} reordered, ${corrupt} corrupt of ${sent} sent` +
        (details.length ? ` (${details.join('; ')})` : ''),
    );
  }
  return problems.length > 0 ? { figures, problem: problems.join('; ') } : { figures };
}
