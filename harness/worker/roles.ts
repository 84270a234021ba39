/**
 * The polling driver: the loops a worker thread runs for an in-process queue. The roles' turns,
 * figures and reports are the loop parts' (loop-parts/), shared with network-roles.ts; this
 * file only decides what a thread does between turns: poll again, or sleep on the queue's event
 * count, as the scenario's wait strategy says. Nothing here awaits: the loops are synchronous.
 *
 *   throughput  producer ×N ──queue──▶ consumer          closed loop, as fast as the queue takes
 *   rate        producer ×N ──queue──▶ consumer          open loop, sends on a schedule
 *   ping-pong   pinger ──queue──▶ ponger ──reply──▶ pinger   one round trip at a time (or a burst)
 *
 * Every loop polls the control PHASE between batches; work done before MEASURE or after STOP is
 * not counted, but every message is still checked for delivery.
 */

import type { Consumer, MessageVisitor, QueueBackend } from '../../implementations/contract.js';
import { nowNs } from '../metrics/clock.js';
import { SLEEP_FROM_NS } from '../results/method.js';
import { AfterStop } from './after-stop.js';
import { type Control, Phase } from './control.js';
import { DeliveryCheck } from './delivery-check.js';
import { HeldClaimRehearsal } from './held-claim.js';
import { ClosedLoopSender } from './loop-parts/closed-loop-sender.js';
import { Echoer } from './loop-parts/echoer.js';
import { OpenLoopSender, WAKE_EARLY_NS } from './loop-parts/open-loop-sender.js';
import { Receiver } from './loop-parts/receiver.js';
import { RoundTrips } from './loop-parts/round-trips.js';
import { NOT_DUE, STOPPED } from './loop-parts/turn.js';
import { twoQueueCounters } from './loop-parts/worker-report.js';
import type { MeasureWindow } from './measure-window.js';
import type { ConsumerTask, PingerTask, PongerTask, ProducerTask, Stall, WorkerReport, WorkerTask } from './protocol.js';
import { runSelfDriven } from './self-driven-role.js';
import { WaitStrategy } from './wait-strategy.js';

/** Most messages a consumer takes per drain call. */
export const DRAIN_MAX = 1024;

interface Context<T extends WorkerTask = WorkerTask> {
  task: T;
  backend: QueueBackend;
  control: Control;
  ready: () => void;
}

export function runRole(ctx: Context): WorkerReport[] {
  // Each role's loop gets a context whose task is that role's (a new object, once per worker).
  const { task } = ctx;
  switch (task.role) {
    case 'producer':
      return [task.workload === 'rate' ? runRateProducer({ ...ctx, task }) : runProducer({ ...ctx, task })];
    case 'consumer':
      return [runConsumer({ ...ctx, task })];
    case 'pinger':
      return [runPinger({ ...ctx, task })];
    case 'ponger':
      return [runPonger({ ...ctx, task })];
    case 'driver':
      return runSelfDriven(ctx.backend, task, ctx.ready);
  }
}

function runProducer({ task, backend, control, ready }: Context<ProducerTask>): WorkerReport {
  const producer = backend.producer(task.queue, task.index);
  const sender = new ClosedLoopSender(task, producer, control, new HeldClaimRehearsal(control));
  const wait = new WaitStrategy(task.params.wait);
  const sleep = (ms: number) => producer.awaitSpace(ms);
  let filled = false;
  ready();
  control.awaitPhase(Phase.WARMUP);
  for (;;) {
    const n = sender.turn();
    if (n === STOPPED) break;
    if (n === 0) {
      // Once: the consumer holds back at the start of warm-up until this (Control.awaitFilled).
      if (!filled) {
        filled = true;
        control.markFilled();
        control.awaitEmptied();
      }
      wait.stall(sleep);
      continue;
    }
    wait.progressed();
  }
  const report = sender.finish(wait.counters, producer.counters());
  producer.close();
  return report;
}

/** Open loop (open-loop-sender.ts): between bursts the producer sleeps, or spins through short gaps. */
function runRateProducer({ task, backend, control, ready }: Context<ProducerTask>): WorkerReport {
  const producer = backend.producer(task.queue, task.index);
  const sender = new OpenLoopSender(task, producer, control, new HeldClaimRehearsal(control));
  const wait = new WaitStrategy(task.params.wait);
  const sleep = (ms: number) => producer.awaitSpace(ms);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const ahead = sender.aheadCell;
  let busy = false;
  ready();
  control.awaitPhase(Phase.WARMUP);
  sender.start();
  for (;;) {
    const n = sender.turn();
    if (n === NOT_DUE) {
      // Going quiet: a backend that batches work it owes (the log's group commit) does it now.
      if (busy) {
        busy = false;
        producer.idle?.();
        continue;
      }
      // Sleep through gaps longer than SLEEP_FROM_NS, waking WAKE_EARLY_NS early because
      // Atomics.wait returns ~50–100 µs late here; spin only through the rest. At batch 256 and
      // 500k msg/s (a burst every 512 µs) the producer then leaves most of its core free.
      if (ahead[0] > SLEEP_FROM_NS) Atomics.wait(pause, 0, 0, (ahead[0] - WAKE_EARLY_NS) / 1e6);
      continue;
    }
    if (n === STOPPED) break;
    if (n === 0) {
      wait.stall(sleep);
      continue;
    }
    wait.progressed();
    busy = true;
  }
  const report = sender.finish(wait.counters, producer.counters());
  producer.close();
  return report;
}

/** What a drain loop works with: one consuming side's queue, its visitor and its bookkeeping. */
interface DrainLoop {
  consumer: Consumer;
  visit: MessageVisitor;
  control: Control;
  window: MeasureWindow;
  wait: WaitStrategy;
  /** Producers whose totals to wait for after STOP. */
  producers: number;
  /** Most messages one drain call takes. */
  max: number;
  /** Messages this side has handled so far. */
  count: () => number;
  /** Distinct messages received so far. */
  unique: () => number;
  stall: Stall | undefined;
}

/** Drains until STOP, then until every message producers reported is in (or the grace runs out: after-stop.ts). */
function drainLoop({ consumer, visit, control, window, wait, producers, max, count, unique, stall }: DrainLoop): void {
  const sleep = (ms: number) => consumer.awaitData(ms);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let nextStall = stall ? stall.every : Infinity;
  const afterStop = new AfterStop(control, producers);
  let emptied = false;
  for (;;) {
    const n = consumer.drain(max, visit);
    if (count() >= nextStall) {
      Atomics.wait(pause, 0, 0, stall!.durationMs);
      nextStall += stall!.every;
    }
    window.observe(control.phase(), count());
    if (n > 0) wait.progressed();
    if (window.stopped && afterStop.done(count(), unique())) return;
    if (n === 0) {
      // Once: a producer that found the queue full holds back until this (Control.awaitEmptied).
      if (!emptied) {
        emptied = true;
        control.markEmptied();
      }
      wait.stall(sleep);
    }
  }
}

function runConsumer({ task, backend, control, ready }: Context<ConsumerTask>): WorkerReport {
  const consumer = backend.consumer(task.queue, task.index);
  const receiver = new Receiver(task, new DeliveryCheck(task.params.producers, task.verifyCrc));
  const wait = new WaitStrategy(task.params.wait);
  ready();
  control.awaitPhase(Phase.WARMUP);
  if (task.workload === 'throughput') control.awaitFilled();
  drainLoop({
    consumer,
    visit: receiver.visit,
    control,
    window: receiver.window,
    wait,
    producers: task.params.producers,
    max: DRAIN_MAX,
    count: () => receiver.received,
    unique: () => receiver.unique,
    stall: task.stall,
  });
  const report = receiver.finish(wait.counters, consumer.counters());
  consumer.close();
  return report;
}

/** Ping-pong client (round-trips.ts): sends a burst, drains the reply queue until every reply is in. */
function runPinger({ task, backend, control, ready }: Context<PingerTask>): WorkerReport {
  const requests = backend.producer(task.queue, 0);
  const replies = backend.consumer(task.reply, 0);
  const trips = new RoundTrips(task, requests, control, new HeldClaimRehearsal(control));
  const visit = trips.visit;
  const wait = new WaitStrategy(task.params.wait);
  const sleepSpace = (ms: number) => requests.awaitSpace(ms);
  const sleepData = (ms: number) => replies.awaitData(ms);
  ready();
  control.awaitPhase(Phase.WARMUP);
  outer: for (;;) {
    const n = trips.send();
    if (n === STOPPED) break;
    if (n === 0) {
      wait.stall(sleepSpace);
      continue;
    }
    const waitingSince = nowNs();
    while (trips.outstanding > 0) {
      if (replies.drain(trips.outstanding, visit) === 0) {
        wait.stall(sleepData);
        if (trips.givenUp(waitingSince)) break outer;
      }
    }
    wait.progressed();
  }
  const report = trips.finish(wait.counters, twoQueueCounters(requests.counters(), replies.counters()));
  requests.close();
  replies.close();
  return report;
}

/** Ping-pong server (echoer.ts): drains requests and echoes each, waiting for room on the reply queue. */
function runPonger({ task, backend, control, ready }: Context<PongerTask>): WorkerReport {
  const requests = backend.consumer(task.queue, 0);
  const replies = backend.producer(task.reply, 0);
  const wait = new WaitStrategy(task.params.wait);
  const sleepSpace = (ms: number) => replies.awaitSpace(ms);
  const rehearsal = new HeldClaimRehearsal(control);
  const echoer = new Echoer(task, replies, (length) => {
    while (replies.claim(1, length) === 0) wait.stall(sleepSpace);
    rehearsal.hold();
  });
  ready();
  control.awaitPhase(Phase.WARMUP);
  drainLoop({
    consumer: requests,
    visit: echoer.visit,
    control,
    window: echoer.window,
    wait,
    producers: 1,
    max: task.params.batch,
    count: () => echoer.echoed,
    unique: () => echoer.unique,
    stall: task.stall,
  });
  const report = echoer.finish(wait.counters, twoQueueCounters(requests.counters(), replies.counters()));
  requests.close();
  replies.close();
  return report;
}
