/**
 * A trial's workers: which roles it needs, the task each is handed (WorkerTask, keyed on role),
 * and the threads started with them. The crew counts who is ready and who has reported, and
 * turns a worker's error, or an exit before its report, into the trial's failure (TrialWatch).
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { QueueDescriptor } from '../../implementations/contract.js';
import { packageRoot } from '../../implementations/package-root.js';
import { isNetworkBackend } from '../../implementations/registry.js';
import { isSelfDriven } from '../../implementations/self-driven.js';
import type { Control } from '../worker/control.js';
import type { Role, WorkerMessage, WorkerReport, WorkerTask } from '../worker/protocol.js';
import type { TrialSetup } from './trial-setup.js';
import { TrialFailure, type TrialWatch } from './trial-watch.js';

/** Compiled worker entry; tests and the CLI both start workers from dist/ (a worker started from TypeScript source would need a loader in the measured loop). */
export function workerEntryPath(): string {
  return join(packageRoot(), 'dist', 'harness', 'worker', 'entry.js');
}

interface RunningWorker {
  label: string;
  worker: Worker;
}

/** The queues and shared memory a trial's workers meet in. */
export interface CrewMeeting {
  queue: QueueDescriptor;
  /** ping-pong: the reply queue. */
  reply: QueueDescriptor | undefined;
  control: Control;
  /** consumer-group: the trial's group and the ledger its members share. */
  group: { name: string; ledger: SharedArrayBuffer } | undefined;
}

export class Crew {
  readonly workers: RunningWorker[] = [];
  readonly reports: WorkerReport[] = [];
  /** Every worker attached and waiting for WARMUP. */
  readonly allReady: Promise<void>;
  /** Every report expected is in (a driver gives two; a killed member none). */
  readonly allReported: Promise<void>;
  private killed: Worker | undefined;

  private readonly onReady: () => void;
  private readonly onReports: () => void;

  constructor(
    private readonly setup: TrialSetup,
    private readonly meeting: CrewMeeting,
    private readonly watch: TrialWatch,
  ) {
    let onReady: () => void = () => {};
    this.allReady = new Promise<void>((resolve) => (onReady = resolve));
    let onReports: () => void = () => {};
    this.allReported = new Promise<void>((resolve) => (onReports = resolve));
    this.onReady = onReady;
    this.onReports = onReports;
  }

  /**
   * Starts every worker. Each one started is in `workers` at once, so a later one failing to
   * start (a throw from here) still leaves the earlier ones for terminateAll.
   */
  start(): void {
    const { setup, meeting, watch } = this;
    const { backend, planned, scenario } = setup;
    const cores = cpus().length;
    const selfDriven = !isNetworkBackend(backend) && isSelfDriven(backend);
    const roles = rolesOf(setup, selfDriven);
    // A driver reports for both sides of its native threads; a killed member never reports.
    const expectedReports = selfDriven ? 2 : roles.length - (planned.params.fault === 'kill-member' ? 1 : 0);
    let ready = 0;
    roles.forEach(([role, index], k) => {
      // With pinning, the reader goes on core 0 and writers spread over the others.
      const pinCpu = scenario.pin ? k % cores : undefined;
      const { task, transfer } = taskFor(setup, { ...meeting, role, index, pinCpu: selfDriven ? undefined : pinCpu, cores });
      const label = `${role}#${index}`;
      const worker = new Worker(workerEntryPath(), { workerData: task, transferList: transfer as never[] });
      let reported = 0;
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          if (++ready === roles.length) this.onReady();
        } else if (message.type === 'report') {
          reported++;
          this.reports.push(message.report);
          if (this.reports.length === expectedReports) this.onReports();
        } else {
          watch.fail(new TrialFailure(`${label}: ${message.message}`));
        }
      });
      worker.on('error', (error) => watch.fail(new TrialFailure(`${label}: ${error.stack ?? error.message}`)));
      worker.on('exit', (code) => {
        if (reported === 0 && this.killed !== worker) watch.fail(new TrialFailure(`${label} exited (code ${code}) before reporting`));
      });
      this.workers.push({ label, worker });
    });
  }

  /** Ends one worker without a goodbye, as a crashed process would end (a consumer group's kill-member fault). */
  async kill(label: string): Promise<void> {
    const victim = this.workers.find((w) => w.label === label);
    if (!victim) return;
    this.killed = victim.worker;
    await victim.worker.terminate();
  }

  async terminateAll(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.terminate().catch(() => 0)));
  }
}

/** The roles a trial needs, in the order they start: readers first, then writers. */
function rolesOf({ planned }: TrialSetup, selfDriven: boolean): [Role, number][] {
  if (selfDriven) return [['driver', 0]];
  if (planned.workload === 'ping-pong')
    return [
      ['ponger', 0],
      ['pinger', 0],
    ];
  const readers = planned.params.subscribers ?? planned.params.members ?? 1;
  return [
    ...Array.from({ length: readers }, (_, i): [Role, number] => ['consumer', i]),
    ...Array.from({ length: planned.params.producers }, (_, i): [Role, number] => ['producer', i]),
  ];
}

/** Where a worker sits in its trial: what taskFor needs beyond the setup. */
interface WorkerPlace extends CrewMeeting {
  role: Role;
  index: number;
  /** The CPU for this thread when the scenario pins (not for a driver: its threads pin themselves). */
  pinCpu: number | undefined;
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
