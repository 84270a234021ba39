/**
 * Matrix expansion: every combination of the matrix axes, for every workload, becomes a case.
 * A case a backend cannot serve is kept as `skipped` with the reason, never silently dropped.
 */
import { availableParallelism } from 'node:os';
import { type Durability, QUEUE_WORKLOADS } from '../../implementations/contract.js';
import type { AnyBackend } from '../../implementations/registry.js';
import { formatCount } from '../../wire/units.js';
import type { Scenario, WaitStrategyName, Workload } from './schema.js';

export interface CaseParams {
  payload: number;
  producers: number;
  batch: number;
  wait: WaitStrategyName;
  /** Durable backends: when a message counts as stored (absent: `none`, as for every in-memory queue). */
  durability?: Durability;
  /** Messages per second, for the open-loop `rate` workload only. */
  rate?: number;
  /** fan-out: subscribers, each receiving every message. */
  subscribers?: number;
  /** consumer-group: members sharing the messages. */
  members?: number;
  /** consumer-group: the fault injected (`kill-member`). */
  fault?: 'kill-member';
}

export interface PlannedCase {
  id: string;
  backend: string;
  workload: Workload['kind'];
  params: CaseParams;
  /** Set when the case cannot run; the reason is shown and recorded. */
  skip?: string;
  /** More busy threads than cores: the figures measure the scheduler as much as the queue. */
  oversubscribed: boolean;
  /** Busy threads equal the cores: nothing is left for the OS, the main thread or V8's helpers. */
  noHeadroom: boolean;
  busyThreads: number;
}

export function caseId(backend: string, workload: string, p: CaseParams): string {
  const rate = p.rate !== undefined ? `/rate=${formatCount(p.rate)}` : '';
  const readers = p.subscribers !== undefined ? `/subscribers=${p.subscribers}` : p.members !== undefined ? `/members=${p.members}` : '';
  const fault = p.fault !== undefined ? `/fault=${p.fault}` : '';
  const durability = p.durability !== undefined ? `/durability=${p.durability}` : '';
  return `${backend}/${workload}/payload=${p.payload}/producers=${p.producers}${readers}/batch=${p.batch}/wait=${p.wait}${durability}${rate}${fault}`;
}

/** The scenario with its backend axis cut to `backends` (CLI --backend), in the scenario's order; unchanged without. */
export function withBackends(scenario: Scenario, backends: readonly string[] | undefined): Scenario {
  if (!backends) return scenario;
  return { ...scenario, matrix: { ...scenario.matrix, backend: scenario.matrix.backend.filter((b) => backends.includes(b)) } };
}

export function planCases(scenario: Scenario, lookup: (id: string) => AnyBackend | undefined, cores = availableParallelism()): PlannedCase[] {
  const cases: PlannedCase[] = [];
  const m = scenario.matrix;
  for (const backendId of m.backend)
    for (const workload of scenario.workloads)
      for (const payload of m.payload)
        for (const producers of m.producers)
          for (const batch of m.batch)
            for (const wait of m.wait)
              for (const durability of m.durability) {
                const params: CaseParams = { payload, producers, batch, wait };
                if (durability !== 'none') params.durability = durability;
                if (workload.kind === 'rate') params.rate = workload.rate;
                if (workload.kind === 'fan-out') params.subscribers = workload.subscribers;
                if (workload.kind === 'consumer-group') {
                  params.members = workload.members;
                  if (workload.fault) params.fault = workload.fault;
                }
                const backend = lookup(backendId);
                // ping-pong runs one client and one echo server, each on its own thread; a server
                // the harness starts on this machine is one more busy thread (a local cluster: one per node).
                const readers = params.subscribers ?? params.members ?? 1;
                const entry = scenario.servers?.[backendId];
                const localServer = backend?.traits.network === true && entry?.url === undefined ? (entry?.nodes ?? 1) : 0;
                const busyThreads = (workload.kind === 'ping-pong' ? 2 : producers + readers) + localServer;
                const planned: PlannedCase = {
                  id: caseId(backendId, workload.kind, params),
                  backend: backendId,
                  workload: workload.kind,
                  params,
                  // Closed-loop producers never idle, whatever the wait strategy, so every thread counts.
                  oversubscribed: busyThreads > cores,
                  noHeadroom: busyThreads === cores,
                  busyThreads,
                };
                const skip = skipReason(backend, workload.kind, params) ?? scenarioSkipReason(backend, scenario);
                if (skip) planned.skip = skip;
                cases.push(planned);
              }
  return cases;
}

/** What a backend cannot honour of the scenario's own settings (never run it as if it had). */
function scenarioSkipReason(backend: AnyBackend | undefined, scenario: Scenario): string | undefined {
  if (scenario.stall && backend?.traits.selfDriven) {
    return `${backend.id} runs its own native loops and cannot inject the consumer stall the scenario asks for`;
  }
  if (scenario.verify === 'crc' && backend?.traits.selfDriven) {
    return `${backend.id} checks sequence numbers in its native loops, not payload CRC32s (verify: crc)`;
  }
  return undefined;
}

/** Named in skip reasons; the registry is not imported here (plans are made from any lookup). */
const DURABLE_BACKENDS = 'wal, broker, nats-jetstream, redis-streams';

function skipReason(backend: AnyBackend | undefined, workload: Workload['kind'], p: CaseParams): string | undefined {
  if (!backend) return 'unknown backend';
  const availability = backend.available();
  if (!availability.available) return `backend unavailable: ${availability.reason ?? 'no reason given'}`;
  const served = backend.traits.workloads ?? QUEUE_WORKLOADS;
  if (!served.includes(workload)) {
    if (workload === 'fan-out' || workload === 'consumer-group') return `${workload} needs topics and subscriptions, which ${backend.id} does not have`;
    return `${backend.id} runs only ${served.length <= 2 ? served.join(' and ') : `${served.slice(0, -1).join(', ')} and ${served.at(-1)}`}`;
  }
  if ((p.subscribers ?? p.members ?? 1) > backend.traits.maxConsumers) {
    return `${backend.id} serves at most ${backend.traits.maxConsumers} consumer(s), case asks for ${p.subscribers ?? p.members}`;
  }
  // A network client either sleeps in the event loop until a socket is ready (`block`) or keeps
  // the loop turning so sockets are polled without sleeping (`spin`); `park` (spin, then sleep on
  // a shared-memory word) has no socket counterpart.
  if (backend.traits.network === true && p.wait === 'park') return `${backend.id} waits on sockets: wait: spin (poll) or block (sleep in epoll), not park`;
  if (p.producers > backend.traits.maxProducers) {
    return `${backend.id} serves at most ${backend.traits.maxProducers} producer(s), case asks for ${p.producers}`;
  }
  if (workload === 'ping-pong' && p.producers !== 1) return 'ping-pong runs one client and one echo server (producers must be 1)';
  if (p.durability !== undefined && backend.traits.durable !== true) {
    return `${backend.id} keeps messages in memory only: durability ${p.durability} needs a backend that writes them to disk (${DURABLE_BACKENDS})`;
  }
  if ('unsupported' in backend && backend.unsupported !== undefined) {
    const why = backend.unsupported({
      workload,
      ...(p.durability !== undefined ? { durability: p.durability } : {}),
      ...(p.fault !== undefined ? { fault: p.fault } : {}),
    });
    if (why !== undefined) return why;
  }
  if (p.wait !== 'spin' && !backend.traits.canBlock) return `${backend.id} only busy-spins (wait ${p.wait} needs a thread that can sleep on the queue)`;
  return undefined;
}
