/**
 * One trial of one case: fresh queue(s), fresh worker threads, warm-up, measure window, stop,
 * collect. A trial that errors or outlives its timeout has its workers terminated and comes back
 * as a failure with the reason; it never takes the suite down with it.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { QueueDescriptor, QueueOptions } from '../../implementations/contract.js';
import type { ServerAddress } from '../../implementations/network-contract.js';
import { packageRoot } from '../../implementations/package-root.js';
import { type AnyBackend, isNetworkBackend } from '../../implementations/registry.js';
import { isSelfDriven } from '../../implementations/self-driven.js';
import { HEADER_BYTES } from '../../wire/envelope.js';
import { measureCoreRoundTrip } from '../calibration/core-round-trip.js';
import { nowNs, sleep } from '../metrics/clock.js';
import { peakRssBytes, resetPeakRss } from '../metrics/peak-rss.js';
import { busiestRunDelayNs, type ProcessSample, processPeakRssBytes, resetProcessPeakRss, sampleProcess } from '../metrics/process-stats.js';
import type { ServerFigures, TrialResult } from '../results/types.js';
import type { PlannedCase } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';
import { Control, Phase } from '../worker/control.js';
import { createGroupLedger, readGroupLedger } from '../worker/group-delivery-check.js';
import type { Role, WorkerMessage, WorkerReport, WorkerTask } from '../worker/protocol.js';
import { type CoordinatorSamples, computeFigures, type TrialExtras } from './figures.js';

/** Compiled worker entry; tests and the CLI both start workers from dist/ (a worker started from TypeScript source would need a loader in the measured loop). */
export function workerEntryPath(): string {
  return join(packageRoot(), 'dist', 'harness', 'worker', 'entry.js');
}

class TrialFailure extends Error {}

interface RunningWorker {
  label: string;
  worker: Worker;
}

/** The server a network backend's trial talks to; `pids` when it runs here (its figures are then measured). */
export interface TrialServer extends ServerAddress {
  /** Its processes: one, or a local cluster's nodes. */
  pids?: readonly number[];
}

export interface TrialSetup {
  planned: PlannedCase;
  scenario: Scenario;
  backend: AnyBackend;
  /** Network backends: the server started for the suite, or named by the scenario. */
  server?: TrialServer;
  trial: number;
  /** Aborted when the run is interrupted: the trial stops at once and reports failure. */
  signal?: AbortSignal;
}

/** Where a worker sits in its trial: what taskFor needs beyond the setup. */
interface WorkerPlace {
  role: Role;
  index: number;
  queue: QueueDescriptor;
  reply: QueueDescriptor | undefined;
  control: Control;
  /** The CPU for this thread when the scenario pins (not for a driver: its threads pin themselves). */
  pinCpu: number | undefined;
  /** consumer-group: the group a consumer joins and the ledger its members share. */
  group: { name: string; ledger: SharedArrayBuffer } | undefined;
  cores: number;
}

function taskFor(setup: TrialSetup, place: WorkerPlace): { task: WorkerTask; transfer: unknown[] } {
  const { backend, planned, scenario } = setup;
  const { role, index, queue, reply } = place;
  const writes = role === 'producer' || role === 'pinger' || role === 'driver';
  const select = (d: QueueDescriptor, side: 'producer' | 'consumer') => (isNetworkBackend(backend) ? d : (backend.select?.(d, side, index) ?? d));
  const mine = select(queue, writes ? 'producer' : 'consumer');
  const myReply = reply ? select(reply, role === 'pinger' || role === 'driver' ? 'consumer' : 'producer') : undefined;
  const base = {
    index,
    backend: backend.id,
    queue: mine,
    control: place.control.memory,
    workload: planned.workload,
    params: planned.params,
    verifyCrc: scenario.verify === 'crc',
    ...(place.pinCpu !== undefined ? { pinCpu: place.pinCpu } : {}),
  };
  const stall = scenario.stall ? { stall: { every: scenario.stall.every, durationMs: scenario.stall.duration / 1e6 } } : {};
  const transfer = [...(mine.transfer ?? []), ...(myReply?.transfer ?? [])];
  const needReply = (): QueueDescriptor => {
    if (!myReply) throw new Error(`a ${role} needs a reply queue (ping-pong)`);
    return myReply;
  };
  switch (role) {
    case 'producer':
      return { task: { ...base, role }, transfer };
    case 'consumer':
      return { task: { ...base, role, ...stall, ...(place.group ? { group: place.group.name, ledger: place.group.ledger } : {}) }, transfer };
    case 'pinger':
      return { task: { ...base, role, reply: needReply() }, transfer };
    case 'ponger':
      return { task: { ...base, role, reply: needReply(), ...stall }, transfer };
    case 'driver': {
      const pinning = scenario.pin ? { pinConsumer: 0, pinProducer: 1 % place.cores } : { pinConsumer: -1, pinProducer: -1 };
      return { task: { ...base, role, ...(myReply ? { reply: myReply } : {}), ...pinning }, transfer };
    }
  }
}

export async function runTrial(setup: TrialSetup): Promise<TrialResult> {
  const { planned, scenario, backend, trial } = setup;
  // Before anything of the trial runs: where the host has the cores now (core-round-trip.ts).
  const coreRoundTripNs = setup.signal?.aborted ? undefined : await measureCoreRoundTrip();
  const placement = coreRoundTripNs !== undefined ? { coreRoundTripNs } : {};
  const { producers, payload } = planned.params;
  const readers = planned.params.subscribers ?? planned.params.members ?? 1;
  const options: QueueOptions = {
    capacityBytes: scenario.capacity,
    producers: planned.workload === 'ping-pong' ? 1 : producers,
    consumers: readers,
    maxMessageBytes: HEADER_BYTES + payload,
    ...(planned.params.durability !== undefined ? { durability: planned.params.durability } : {}),
  };
  // What create() made outside shared memory (a log's directory) is freed when the trial ends.
  const made: QueueDescriptor[] = [];
  const create = (): QueueDescriptor => {
    if (!isNetworkBackend(backend)) {
      const descriptor = backend.create(options);
      made.push(descriptor);
      return descriptor;
    }
    if (!setup.server) throw new TrialFailure(`${backend.id} needs a server and none was started or named`);
    const descriptor = backend.create({ ...options, server: setup.server });
    made.push(descriptor);
    return descriptor;
  };
  // consumer-group: one group per trial, and one ledger of what its members received.
  const group = planned.workload === 'consumer-group' ? `g-${trial}` : undefined;
  const ledger = group !== undefined ? createGroupLedger(producers) : undefined;
  const killMember = planned.params.fault === 'kill-member';
  const control = Control.create();
  const workers: RunningWorker[] = [];
  const reports: WorkerReport[] = [];
  const cores = cpus().length;
  let failure: ((error: Error) => void) | null = null;
  const failed = new Promise<never>((_, reject) => (failure = reject));
  failed.catch(() => {});
  let readyCount = 0;
  let onReady: () => void = () => {};
  const allReady = new Promise<void>((resolve) => (onReady = resolve));
  let onReports: () => void = () => {};
  const allReported = new Promise<void>((resolve) => (onReports = resolve));

  let phaseName = 'starting';
  const timeoutMs = scenario.timeout / 1e6;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TrialFailure(`timed out after ${timeoutMs / 1000}s (in ${phaseName})`)), timeoutMs);
  });
  timedOut.catch(() => {});
  let onAbort: (() => void) | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    if (setup.signal?.aborted) reject(new TrialFailure('interrupted'));
    onAbort = () => reject(new TrialFailure('interrupted'));
    setup.signal?.addEventListener('abort', onAbort, { once: true });
  });
  interrupted.catch(() => {});

  const sharedBytes: number[] = [];
  let queueCapacityBytes: number | undefined;
  const rssAtStart = process.memoryUsage.rss();
  try {
    const queue = create();
    sharedBytes.push(queue.sharedBytes);
    queueCapacityBytes = queue.capacityBytes;
    const reply = planned.workload === 'ping-pong' ? create() : undefined;
    if (reply) sharedBytes.push(reply.sharedBytes);

    const selfDriven = !isNetworkBackend(backend) && isSelfDriven(backend);
    const roles: [Role, number][] = selfDriven
      ? [['driver', 0]]
      : planned.workload === 'ping-pong'
        ? [
            ['ponger', 0],
            ['pinger', 0],
          ]
        : [
            ...Array.from({ length: readers }, (_, i): [Role, number] => ['consumer', i]),
            ...Array.from({ length: producers }, (_, i): [Role, number] => ['producer', i]),
          ];

    // A driver reports for both sides of its native threads; a killed member never reports.
    const expectedReports = selfDriven ? 2 : roles.length - (killMember ? 1 : 0);
    let killed: RunningWorker | undefined;
    roles.forEach(([role, index], k) => {
      // With pinning, the reader goes on core 0 and writers spread over the others.
      const pinCpu = scenario.pin ? k % cores : undefined;
      const { task, transfer } = taskFor(setup, {
        role,
        index,
        queue,
        reply,
        control,
        pinCpu: selfDriven ? undefined : pinCpu,
        group: group !== undefined && ledger !== undefined ? { name: group, ledger } : undefined,
        cores,
      });
      const label = `${role}#${index}`;
      const worker = new Worker(workerEntryPath(), { workerData: task, transferList: transfer as never[] });
      let reported = 0;
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          if (++readyCount === roles.length) onReady();
        } else if (message.type === 'report') {
          reported++;
          reports.push(message.report);
          if (reports.length === expectedReports) onReports();
        } else {
          failure!(new TrialFailure(`${label}: ${message.message}`));
        }
      });
      worker.on('error', (error) => failure!(new TrialFailure(`${label}: ${error.stack ?? error.message}`)));
      worker.on('exit', (code) => {
        if (reported === 0 && killed?.worker !== worker) failure!(new TrialFailure(`${label} exited (code ${code}) before reporting`));
      });
      workers.push({ label, worker });
    });

    const race = <T>(p: Promise<T>) => Promise.race([p, failed, timedOut, interrupted]);
    await race(allReady);
    phaseName = 'warm-up';
    control.setPhase(Phase.WARMUP);
    await race(sleep(scenario.warmup / 1e6));

    phaseName = 'measure window';
    const samples: CoordinatorSamples = {
      cpuStart: process.cpuUsage(),
      cpusStart: cpus(),
      wallStartNs: nowNs(),
      peakRssBytes: process.memoryUsage.rss(),
      sharedBytes: sharedBytes.reduce((a, b) => a + b, 0),
      mainHeapBytes: 0,
      rssAtStartBytes: rssAtStart,
    };
    // The main thread sleeps through the window: no sampling timers, no redraws. The kernel
    // keeps the RSS high-water mark for us (reset here, read at the end).
    const peakMethod = resetPeakRss();
    const serverPids = setup.server?.pids ?? [];
    const serverStart = serverPids.map((pid) => sampleProcess(pid));
    const serverRssReset = serverPids.map((pid) => resetProcessPeakRss(pid));
    control.setPhase(Phase.MEASURE);
    if (killMember) {
      // The member dies halfway through the window, without a goodbye, as a crashed process would.
      await race(sleep(scenario.duration / 2e6));
      killed = workers.find((w) => w.label === 'consumer#0');
      await killed?.worker.terminate();
      await race(sleep(scenario.duration / 2e6));
    } else {
      await race(sleep(scenario.duration / 1e6));
    }
    samples.wallEndNs = nowNs();
    control.setPhase(Phase.STOP);
    const serverEnd = serverPids.map((pid) => sampleProcess(pid));
    const server =
      serverPids.length > 0 ? serverFigures(serverPids, serverStart, serverEnd, serverRssReset, samples.wallEndNs - samples.wallStartNs) : undefined;
    samples.cpuEnd = process.cpuUsage(samples.cpuStart);
    samples.cpusEnd = cpus();
    samples.peakRssBytes = Math.max(samples.peakRssBytes, peakRssBytes(peakMethod));
    samples.mainHeapBytes = process.memoryUsage().heapUsed;

    phaseName = 'drain after stop';
    await race(allReported);
    const extras: TrialExtras = {};
    if (ledger) extras.ledger = readGroupLedger(ledger);
    if (server) extras.server = server;
    const figures = computeFigures(planned, reports, samples, extras);
    const result: TrialResult = { trial, status: figures.problem ? 'failed' : 'ok', pid: process.pid, ...placement, ...figures.figures };
    if (queueCapacityBytes !== undefined) result.queueCapacityBytes = queueCapacityBytes;
    if (figures.problem) result.reason = figures.problem;
    if (scenario.pin) result.pinned = reports.every((r) => r.pinned === true);
    return result;
  } catch (error) {
    const reason = error instanceof TrialFailure ? error.message : `harness error: ${(error as Error).stack ?? error}`;
    return { trial, status: 'failed', reason, ...placement };
  } finally {
    clearTimeout(timer);
    // One listener per trial on the run's signal would pile up over a long suite.
    if (onAbort) setup.signal?.removeEventListener('abort', onAbort);
    // Native threads (self-driven backends) stop only when they see STOP; a worker blocked in
    // their join cannot be terminated before that.
    control.setPhase(Phase.STOP);
    await Promise.all(workers.map(({ worker }) => worker.terminate().catch(() => 0)));
    if (!isNetworkBackend(backend)) for (const d of made) backend.destroy?.(d);
    // A server's streams and keys go too (a server someone else runs is left as it was found).
    else if (backend.destroy) for (const d of made) await backend.destroy(d).catch(() => {});
  }
}

/** A server's figures over the window; a cluster's are summed over its nodes (run delay: the busiest thread of any). */
function serverFigures(
  pids: readonly number[],
  start: (ProcessSample | null)[],
  end: (ProcessSample | null)[],
  rssReset: boolean[],
  windowNs: number,
): ServerFigures {
  const unreadable = pids.filter((_, i) => start[i] === null || end[i] === null);
  if (unreadable.length > 0) return { unavailable: `the server's /proc/${unreadable[0]}/task was not readable` };
  let onCpuNs = 0;
  let runDelayNs = 0;
  pids.forEach((_, i) => {
    onCpuNs += end[i]!.onCpuNs - start[i]!.onCpuNs;
    runDelayNs = Math.max(runDelayNs, busiestRunDelayNs(start[i]!, end[i]!));
  });
  const figures: ServerFigures = { cpuPct: (100 * onCpuNs) / windowNs, runDelayPct: (100 * runDelayNs) / windowNs };
  if (pids.length > 1) figures.nodes = pids.length;
  const peaks = pids.map((pid, i) => (rssReset[i] ? processPeakRssBytes(pid) : undefined));
  if (peaks.every((p) => p !== undefined)) figures.peakRssBytes = peaks.reduce((a, b) => a! + b!, 0);
  else figures.unavailable = `the server's peak RSS needs /proc/${pids[0]}/clear_refs and VmHWM`;
  return figures;
}
