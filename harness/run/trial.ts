/**
 * One trial of one case: fresh queue(s), fresh worker threads, warm-up, measure window, stop,
 * collect. A trial that errors or outlives its timeout has its workers terminated and comes back
 * as a failure with the reason; it never takes the suite down with it.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { QueueBackend, QueueDescriptor } from '../../implementations/contract.js';
import { isSelfDriven } from '../../implementations/self-driven.js';
import { packageRoot } from '../../implementations/shared/package-root.js';
import { HEADER_BYTES } from '../../wire/envelope.js';
import { nowNs, sleep } from '../metrics/clock.js';
import { peakRssBytes, resetPeakRss } from '../metrics/peak-rss.js';
import type { TrialResult } from '../results/types.js';
import type { PlannedCase } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';
import { Control, Phase } from '../worker/control.js';
import type { Role, WorkerMessage, WorkerReport, WorkerTask } from '../worker/protocol.js';
import { type CoordinatorSamples, computeFigures } from './figures.js';

/** Compiled worker entry; tests and the CLI both start workers from dist/ (a worker started from TypeScript source would need a loader in the measured loop). */
export function workerEntryPath(): string {
  return join(packageRoot(), 'dist', 'harness', 'worker', 'entry.js');
}

class TrialFailure extends Error {}

interface RunningWorker {
  label: string;
  worker: Worker;
}

export interface TrialSetup {
  planned: PlannedCase;
  scenario: Scenario;
  backend: QueueBackend;
  trial: number;
  /** Aborted when the run is interrupted: the trial stops at once and reports failure. */
  signal?: AbortSignal;
}

function taskFor(
  setup: TrialSetup,
  role: Role,
  index: number,
  queue: QueueDescriptor,
  control: Control,
  reply: QueueDescriptor | undefined,
  pinCpu: number | undefined,
): { task: WorkerTask; transfer: unknown[] } {
  const { backend, planned, scenario } = setup;
  const writes = role === 'producer' || role === 'pinger' || role === 'driver';
  const select = (d: QueueDescriptor, side: 'producer' | 'consumer') => backend.select?.(d, side, index) ?? d;
  const mine = select(queue, writes ? 'producer' : 'consumer');
  const myReply = reply ? select(reply, role === 'pinger' || role === 'driver' ? 'consumer' : 'producer') : undefined;
  const task: WorkerTask = {
    role,
    index,
    backend: backend.id,
    queue: mine,
    control: control.memory,
    workload: planned.workload as WorkerTask['workload'],
    params: planned.params,
    verifyCrc: scenario.verify === 'crc',
  };
  if (myReply) task.reply = myReply;
  if (scenario.stall && (role === 'consumer' || role === 'ponger')) task.stall = { every: scenario.stall.every, durationMs: scenario.stall.duration / 1e6 };
  if (pinCpu !== undefined) task.pinCpu = pinCpu;
  return { task, transfer: [...(mine.transfer ?? []), ...(myReply?.transfer ?? [])] };
}

export async function runTrial(setup: TrialSetup): Promise<TrialResult> {
  const { planned, scenario, backend, trial } = setup;
  const { producers, payload } = planned.params;
  const options = {
    capacityBytes: scenario.capacity,
    producers: planned.workload === 'ping-pong' ? 1 : producers,
    consumers: 1,
    maxMessageBytes: HEADER_BYTES + payload,
  };
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
  const interrupted = new Promise<never>((_, reject) => {
    if (setup.signal?.aborted) reject(new TrialFailure('interrupted'));
    setup.signal?.addEventListener('abort', () => reject(new TrialFailure('interrupted')), { once: true });
  });
  interrupted.catch(() => {});

  const sharedBytes: number[] = [];
  let queueCapacityBytes: number | undefined;
  const rssAtStart = process.memoryUsage.rss();
  try {
    const queue = backend.create(options);
    sharedBytes.push(queue.sharedBytes);
    queueCapacityBytes = queue.capacityBytes;
    const reply = planned.workload === 'ping-pong' ? backend.create(options) : undefined;
    if (reply) sharedBytes.push(reply.sharedBytes);

    const selfDriven = isSelfDriven(backend);
    const roles: [Role, number][] = selfDriven
      ? [['driver', 0]]
      : planned.workload === 'ping-pong'
        ? [
            ['ponger', 0],
            ['pinger', 0],
          ]
        : [['consumer', 0], ...Array.from({ length: producers }, (_, i): [Role, number] => ['producer', i])];

    // A driver reports for both sides of its native threads.
    const expectedReports = selfDriven ? 2 : roles.length;
    roles.forEach(([role, index], k) => {
      // With pinning, the reader goes on core 0 and writers spread over the others.
      const pinCpu = scenario.pin ? k % cores : undefined;
      const { task, transfer } = taskFor(setup, role, index, queue, control, reply, selfDriven ? undefined : pinCpu);
      if (selfDriven && scenario.pin) {
        task.pinConsumer = 0;
        task.pinProducer = 1 % cores;
      }
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
        if (reported === 0) failure!(new TrialFailure(`${label} exited (code ${code}) before reporting`));
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
    control.setPhase(Phase.MEASURE);
    await race(sleep(scenario.duration / 1e6));
    samples.wallEndNs = nowNs();
    control.setPhase(Phase.STOP);
    samples.cpuEnd = process.cpuUsage(samples.cpuStart);
    samples.cpusEnd = cpus();
    samples.peakRssBytes = Math.max(samples.peakRssBytes, peakRssBytes(peakMethod));
    samples.mainHeapBytes = process.memoryUsage().heapUsed;

    phaseName = 'drain after stop';
    await race(allReported);
    const figures = computeFigures(planned, reports, samples);
    const result: TrialResult = { trial, status: figures.problem ? 'failed' : 'ok', pid: process.pid, ...figures.figures };
    if (queueCapacityBytes !== undefined) result.queueCapacityBytes = queueCapacityBytes;
    if (figures.problem) result.reason = figures.problem;
    if (scenario.pin) result.pinned = reports.every((r) => r.pinned === true);
    return result;
  } catch (error) {
    const reason = error instanceof TrialFailure ? error.message : `harness error: ${(error as Error).stack ?? error}`;
    return { trial, status: 'failed', reason };
  } finally {
    clearTimeout(timer);
    // Native threads (self-driven backends) stop only when they see STOP; a worker blocked in
    // their join cannot be terminated before that.
    control.setPhase(Phase.STOP);
    await Promise.all(workers.map(({ worker }) => worker.terminate().catch(() => 0)));
  }
}
