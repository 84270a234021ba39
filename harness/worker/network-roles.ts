/**
 * The event-loop driver: the loops a worker thread runs for a network backend
 * (implementations/network-contract.ts). The roles' turns, figures and reports are the loop
 * parts' (loop-parts/), shared with roles.ts; this file decides only how a thread waits, by
 * awaiting.
 *
 *   throughput      producer ×P ──▶ server ──▶ consumer
 *   rate            producer ×P ──▶ server ──▶ consumer            open loop, wrk2-style schedule
 *   fan-out         producer ×P ──▶ server ──▶ subscriber ×S       each gets every message
 *   consumer-group  producer ×P ──▶ server ──▶ member ×C           each message to one member
 *   ping-pong       pinger ──▶ server ──▶ ponger ──▶ server ──▶ pinger
 *
 * What differs from the synchronous loops, and why:
 * - A producer awaits its backend's flow control instead of spinning on a full ring, and yields
 *   to the event loop every YIELD_EVERY batches even while it has credit, so the replies that
 *   carry credit and acknowledgements are read.
 * - A consumer is handed messages by socket data events; a 1 ms timer watches the phase for it
 *   (the window's edges are seen up to ~1 ms late: 0.05% of a 2 s window).
 * - Waiting is the event loop's. `block`: it sleeps in epoll until a socket is ready. `spin`: a
 *   spinner keeps the loop turning (setImmediate), so sockets are polled with a zero timeout and
 *   the thread never sleeps: no wake-up on the path of a message, one core busy per thread.
 */
import type { MessageVisitor } from '../../implementations/contract.js';
import type { NetworkBackend } from '../../implementations/network-contract.js';
import { WakeUp } from '../../implementations/shared/network/wake-up.js';
import { nowNs } from '../metrics/clock.js';
import { SLEEP_FROM_NS } from '../results/method.js';
import { AfterStop } from './after-stop.js';
import { AwaitedWaits } from './awaited-waits.js';
import { type Control, Phase } from './control.js';
import { DeliveryCheck } from './delivery-check.js';
import { GroupDeliveryCheck } from './group-delivery-check.js';
import { ClosedLoopSender } from './loop-parts/closed-loop-sender.js';
import { Echoer } from './loop-parts/echoer.js';
import { OpenLoopSender, WAKE_EARLY_NS } from './loop-parts/open-loop-sender.js';
import { Receiver } from './loop-parts/receiver.js';
import { RoundTrips } from './loop-parts/round-trips.js';
import { NOT_DUE, STOPPED } from './loop-parts/turn.js';
import { twoQueueCounters } from './loop-parts/worker-report.js';
import type { MeasureWindow } from './measure-window.js';
import type { ConsumerTask, PingerTask, PongerTask, ProducerTask, WorkerReport, WorkerTask } from './protocol.js';
import { VisitorFailure } from './visitor-failure.js';

/** Batches a producer sends between turns of the event loop while it has credit. */
export const YIELD_EVERY = 64;
/** How often a consumer looks at the phase. */
const WATCH_MS = 1;
/** Longest sleep of an open-loop producer between turns of its event loop. */
const SLEEP_SLICE_MS = 1;
/** Longest single wait for credit or replies before the phase is looked at again. */
const WAIT_SLICE_MS = 100;

interface NetworkContext<T extends WorkerTask = WorkerTask> {
  task: T;
  backend: NetworkBackend;
  control: Control;
  ready: () => void;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `wait: spin`: keeps this thread's event loop turning until stopped, so it polls its sockets
 * instead of sleeping in epoll. Returns the stop function (a no-op for `block`).
 */
function spinEventLoop(wait: WorkerTask['params']['wait']): () => void {
  if (wait !== 'spin') return () => {};
  let spinning = true;
  const turn = () => {
    if (spinning) setImmediate(turn);
  };
  setImmediate(turn);
  return () => {
    spinning = false;
  };
}
const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function phaseAtLeast(control: Control, phase: number): Promise<void> {
  while (control.phase() < phase) await sleepMs(WATCH_MS);
}

export function runNetworkRole(ctx: NetworkContext): Promise<WorkerReport[]> {
  // Each role's loop gets a context whose task is that role's (a new object, once per worker).
  const { task } = ctx;
  switch (task.role) {
    case 'producer':
      return (task.workload === 'rate' ? runRateProducer({ ...ctx, task }) : runProducer({ ...ctx, task })).then((r) => [r]);
    case 'consumer':
      return runConsumer({ ...ctx, task }).then((r) => [r]);
    case 'pinger':
      return runPinger({ ...ctx, task }).then((r) => [r]);
    case 'ponger':
      return runPonger({ ...ctx, task }).then((r) => [r]);
    default:
      return Promise.reject(new Error(`role ${task.role} has no network loop`));
  }
}

async function runProducer({ task, backend, control, ready }: NetworkContext<ProducerTask>): Promise<WorkerReport> {
  const producer = await backend.producer(task.queue, task.index);
  const sender = new ClosedLoopSender(task, producer, control, null);
  const waits = new AwaitedWaits();
  let sinceTurn = 0;
  ready();
  await phaseAtLeast(control, Phase.WARMUP);
  const stopSpinning = spinEventLoop(task.params.wait);
  for (;;) {
    const n = sender.turn();
    if (n === STOPPED) break;
    if (n === 0) {
      producer.flush();
      waits.record(await producer.awaitSpace(WAIT_SLICE_MS));
      continue;
    }
    if (++sinceTurn === YIELD_EVERY) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
  stopSpinning();
  producer.flush();
  const report = sender.finish(waits, producer.counters());
  await producer.close();
  return report;
}

/** Open loop (open-loop-sender.ts): every burst is flushed as it is sent; between bursts the event loop turns. */
async function runRateProducer({ task, backend, control, ready }: NetworkContext<ProducerTask>): Promise<WorkerReport> {
  const producer = await backend.producer(task.queue, task.index);
  const sender = new OpenLoopSender(task, producer, control, null);
  const waits = new AwaitedWaits();
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const sleeps = task.params.wait !== 'spin';
  const ahead = sender.aheadCell;
  ready();
  await phaseAtLeast(control, Phase.WARMUP);
  sender.start();
  for (;;) {
    const n = sender.turn();
    if (n === NOT_DUE) {
      // As the synchronous rate producer: sleep through gaps longer than SLEEP_FROM_NS, waking
      // WAKE_EARLY_NS early (a timer would fire ~1 ms late), then turn the event loop once so
      // replies are read. Turning the loop through every gap instead kept the producer's core
      // busy (measured: 88% of a core at 500k msg/s, batch 256), which the server then lacked.
      // A sleep lasts at most SLEEP_SLICE_MS: a client that writes a batch over several turns
      // (node-redis stops at the socket's high-water mark and goes on at 'drain') would
      // otherwise get one turn per gap (measured: redis-streams at 20k msg/s, batch 256, fell
      // 18% below the rate with a 400 ms p50; with slices it kept the rate).
      if (sleeps && ahead[0] > SLEEP_FROM_NS) Atomics.wait(pause, 0, 0, Math.min((ahead[0] - WAKE_EARLY_NS) / 1e6, SLEEP_SLICE_MS));
      await nextTurn();
      continue;
    }
    if (n === STOPPED) break;
    if (n === 0) {
      producer.flush();
      waits.record(await producer.awaitSpace(WAIT_SLICE_MS));
      continue;
    }
    producer.flush();
  }
  const report = sender.finish(waits, producer.counters());
  await producer.close();
  return report;
}

/**
 * Watches the phase while messages arrive on their own; after STOP, waits until this consumer
 * has every message it must have (its own count, or the group's), or the grace runs out
 * (after-stop.ts).
 */
async function watchUntilDone(
  control: Control,
  window: MeasureWindow,
  count: () => number,
  unique: () => number,
  producers: number,
  failure: VisitorFailure,
): Promise<void> {
  const afterStop = new AfterStop(control, producers);
  for (;;) {
    failure.rethrow();
    window.observe(control.phase(), count());
    if (window.stopped && afterStop.done(count(), unique())) return;
    await sleepMs(WATCH_MS);
  }
}

async function runConsumer({ task, backend, control, ready }: NetworkContext<ConsumerTask>): Promise<WorkerReport> {
  const consumer = await backend.consumer(task.queue, task.index, task.group !== undefined ? { group: task.group } : {});
  const { producers } = task.params;
  const check = task.ledger ? new GroupDeliveryCheck(task.ledger, producers, task.verifyCrc) : new DeliveryCheck(producers, task.verifyCrc);
  const receiver = new Receiver(task, check);
  const failure = new VisitorFailure();
  await consumer.start(receiver.visit, failure.record);
  ready();
  await phaseAtLeast(control, Phase.WARMUP);
  const stopSpinning = spinEventLoop(task.params.wait);
  await watchUntilDone(
    control,
    receiver.window,
    () => receiver.received,
    () => receiver.unique,
    producers,
    failure,
  );
  stopSpinning();
  failure.rethrow();
  const report = receiver.finish(new AwaitedWaits(), consumer.counters());
  await consumer.close();
  return report;
}

/** Ping-pong client (round-trips.ts): a burst of requests, then every reply, then the next burst. */
async function runPinger({ task, backend, control, ready }: NetworkContext<PingerTask>): Promise<WorkerReport> {
  const requests = await backend.producer(task.queue, 0);
  const replies = await backend.consumer(task.reply, 0, {});
  const trips = new RoundTrips(task, requests, control, null);
  const waits = new AwaitedWaits();
  // Woken by the last reply of the burst, or by the slice's timer: counted as the synchronous
  // pinger counts its waits for replies.
  const replied = new WakeUp();
  const recordReply = trips.visit;
  const visit: MessageVisitor = (bytes, offset, len) => {
    recordReply(bytes, offset, len);
    if (trips.outstanding <= 0) replied.wake();
  };
  const failure = new VisitorFailure();
  await replies.start(visit, failure.record);
  ready();
  await phaseAtLeast(control, Phase.WARMUP);
  const stopSpinning = spinEventLoop(task.params.wait);
  for (;;) {
    const n = trips.send();
    if (n === STOPPED) break;
    if (n === 0) {
      waits.record(await requests.awaitSpace(WAIT_SLICE_MS));
      continue;
    }
    requests.flush();
    const waitingSince = nowNs();
    while (trips.outstanding > 0) {
      waits.record(await replied.wait(WAIT_SLICE_MS));
      failure.rethrow();
      if (trips.outstanding > 0 && trips.givenUp(waitingSince)) break;
    }
  }
  stopSpinning();
  failure.rethrow();
  const report = trips.finish(waits, twoQueueCounters(requests.counters(), replies.counters()));
  await Promise.all([requests.close(), replies.close()]);
  return report;
}

/** Ping-pong server (echoer.ts): echoes every request as soon as it arrives. */
async function runPonger({ task, backend, control, ready }: NetworkContext<PongerTask>): Promise<WorkerReport> {
  const requests = await backend.consumer(task.queue, 0, {});
  const replies = await backend.producer(task.reply, 0);
  const echoer = new Echoer(task, replies, (length) => {
    // Ping-pong has at most a burst (≤ 4096) in flight, far inside any flow-control window.
    if (replies.claim(1, length) === 0) throw new Error('the reply publisher ran out of credit during ping-pong');
  });
  const failure = new VisitorFailure();
  await requests.start(echoer.visit, failure.record);
  ready();
  await phaseAtLeast(control, Phase.WARMUP);
  const stopSpinning = spinEventLoop(task.params.wait);
  await watchUntilDone(
    control,
    echoer.window,
    () => echoer.echoed,
    () => echoer.unique,
    1,
    failure,
  );
  stopSpinning();
  failure.rethrow();
  replies.flush();
  const report = echoer.finish(new AwaitedWaits(), twoQueueCounters(requests.counters(), replies.counters()));
  await Promise.all([requests.close(), replies.close()]);
  return report;
}
