/**
 * One trial of one case: fresh queue(s), fresh worker threads (trial-crew.ts), warm-up, measure
 * window, stop (trial-window.ts), collect. A trial that errors, outlives its timeout or is
 * interrupted (trial-watch.ts) has its workers terminated and comes back as a failure with the
 * reason; it never takes the suite down with it.
 */
import type { QueueDescriptor, QueueOptions } from '../../implementations/contract.js';
import { type AnyBackend, isNetworkBackend } from '../../implementations/registry.js';
import { HEADER_BYTES } from '../../wire/envelope.js';
import { measureCoreRoundTrip } from '../calibration/core-round-trip.js';
import type { TrialResult } from '../results/types.js';
import { Control, Phase } from '../worker/control.js';
import { createGroupLedger, readGroupLedger } from '../worker/group-delivery-check.js';
import { computeFigures, type TrialExtras } from './figures.js';
import { Crew } from './trial-crew.js';
import type { TrialSetup } from './trial-setup.js';
import { TrialFailure, TrialWatch } from './trial-watch.js';
import { runWindow } from './trial-window.js';

export async function runTrial(setup: TrialSetup): Promise<TrialResult> {
  const { planned, scenario, trial } = setup;
  // Before anything of the trial runs: where the host has the cores now (core-round-trip.ts).
  const coreRoundTripNs = setup.signal?.aborted ? undefined : await measureCoreRoundTrip();
  const placement = coreRoundTripNs !== undefined ? { coreRoundTripNs } : {};
  // What the trial made outside shared memory (a log's directory, a server's streams) goes when it ends.
  const made: QueueDescriptor[] = [];
  // consumer-group: one group per trial, and one ledger of what its members received (made
  // before the RSS at start is read, as ever).
  const group = planned.workload === 'consumer-group' ? { name: `g-${trial}`, ledger: createGroupLedger(planned.params.producers) } : undefined;
  const control = Control.create();
  const watch = new TrialWatch(scenario.timeout / 1e6, setup.signal);
  let crew: Crew | undefined;
  const rssAtStartBytes = process.memoryUsage.rss();
  try {
    const options = queueOptions(setup);
    const queue = createQueue(setup, options, made);
    const reply = planned.workload === 'ping-pong' ? createQueue(setup, options, made) : undefined;
    crew = new Crew(setup, { queue, reply, control, group }, watch);
    crew.start();
    await watch.race(crew.allReady);
    const sharedBytes = queue.sharedBytes + (reply?.sharedBytes ?? 0);
    const { samples, server } = await runWindow(setup, control, watch, crew, { sharedBytes, rssAtStartBytes });

    watch.phase = 'drain after stop';
    await watch.race(crew.allReported);
    const extras: TrialExtras = {};
    if (group) extras.ledger = readGroupLedger(group.ledger);
    if (server) extras.server = server;
    const figures = computeFigures(planned, crew.reports, samples, extras);
    const result: TrialResult = { trial, status: figures.problem ? 'failed' : 'ok', pid: process.pid, ...placement, ...figures.figures };
    if (queue.capacityBytes !== undefined) result.queueCapacityBytes = queue.capacityBytes;
    if (figures.problem) result.reason = figures.problem;
    if (scenario.pin) result.pinned = crew.reports.every((r) => r.pinned === true);
    return result;
  } catch (error) {
    const reason = error instanceof TrialFailure ? error.message : `harness error: ${(error as Error).stack ?? error}`;
    return { trial, status: 'failed', reason, ...placement };
  } finally {
    watch.dispose();
    // Native threads (self-driven backends) stop only when they see STOP; a worker blocked in
    // their join cannot be terminated before that.
    control.setPhase(Phase.STOP);
    await crew?.terminateAll();
    await destroyQueues(setup.backend, made);
  }
}

/** What the case asks of its queue(s): the scenario's capacity, the case's sides and message size. */
function queueOptions({ planned, scenario }: TrialSetup): QueueOptions {
  return {
    capacityBytes: scenario.capacity,
    producers: planned.workload === 'ping-pong' ? 1 : planned.params.producers,
    consumers: planned.params.subscribers ?? planned.params.members ?? 1,
    maxMessageBytes: HEADER_BYTES + planned.params.payload,
    ...(planned.params.durability !== undefined ? { durability: planned.params.durability } : {}),
  };
}

/** A fresh queue for the trial, remembered in `made` so the trial frees it when it ends. */
function createQueue({ backend, server }: TrialSetup, options: QueueOptions, made: QueueDescriptor[]): QueueDescriptor {
  let descriptor: QueueDescriptor;
  if (!isNetworkBackend(backend)) descriptor = backend.create(options);
  else if (!server) throw new TrialFailure(`${backend.id} needs a server and none was started or named`);
  else descriptor = backend.create({ ...options, server });
  made.push(descriptor);
  return descriptor;
}

async function destroyQueues(backend: AnyBackend, made: readonly QueueDescriptor[]): Promise<void> {
  if (!isNetworkBackend(backend)) for (const d of made) backend.destroy?.(d);
  // A server's streams and keys go too (a server someone else runs is left as it was found).
  else if (backend.destroy) for (const d of made) await backend.destroy(d).catch(() => {});
}
