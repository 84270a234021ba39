/**
 * The loops a worker thread runs for a network backend (implementations/network-contract.ts):
 * the same roles, figures, checks and phases as roles.ts, on the event loop.
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
import type { MessageVisitor, WaitOutcome } from '../../implementations/contract.js';
import type { NetworkBackend } from '../../implementations/network-contract.js';
import { WakeUp } from '../../implementations/shared/network/wake-up.js';
import { HEADER_BYTES } from '../../wire/envelope.js';
import { clockCell, nowNs, tickClock } from '../metrics/clock.js';
import { createHistogram, encodeHistogram, type Histogram } from '../metrics/histogram.js';
import { SLEEP_FROM_NS, TIMESTAMP_EVERY } from '../results/method.js';
import type { WaitCounters } from '../results/types.js';
import { AfterStop, DRAIN_GRACE_NS } from './after-stop.js';
import { type Control, Phase } from './control.js';
import { DeliveryCheck } from './delivery-check.js';
import { EnvelopeWriter, STAMP_ALL, STAMP_FIRST, STAMP_INTENDED, STAMP_NONE } from './envelope-writer.js';
import { GroupDeliveryCheck } from './group-delivery-check.js';
import { MeasureWindow } from './measure-window.js';
import type { ConsumerTask, PingerTask, PongerTask, ProducerTask, WorkerReport, WorkerTask } from './protocol.js';
import { addRateFigures, RateSchedule } from './rate-schedule.js';
import { IN_FLIGHT_AT_STOP, RECEIVED, receiveVisitor, roundTripVisitor } from './receive-visitor.js';
import { baseReport, copyBytes, twoQueueCounters, WAKE_EARLY_NS } from './roles.js';

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

class Waits implements WaitCounters {
  stalls = 0;
  sleeps = 0;
  wakes = 0;
  timeouts = 0;
  record(outcome: WaitOutcome): void {
    this.stalls++;
    if (outcome === 'not-needed') return;
    this.sleeps++;
    if (outcome === 'woken') this.wakes++;
    else this.timeouts++;
  }
}

/**
 * What a consumer's visitor threw (the consumer has stopped: network-contract.ts): the role
 * rethrows it at its next look, and the trial fails with it instead of waiting out its grace.
 */
class VisitorFailure {
  private error: { thrown: unknown } | undefined;
  readonly record = (thrown: unknown): void => {
    this.error ??= { thrown };
  };
  rethrow(): void {
    if (this.error !== undefined) throw this.error.thrown;
  }
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
  const { batch, payload } = task.params;
  const writer = new EnvelopeWriter({ producerId: task.index, payload, verifyCrc: task.verifyCrc });
  const waits = new Waits();
  const window = new MeasureWindow();
  const length = HEADER_BYTES + payload;
  let seq = 0;
  let lastStamp = -TIMESTAMP_EVERY;
  let sinceTurn = 0;
  ready();
  await phaseAtLeast(control, Phase.WARMUP);
  const stopSpinning = spinEventLoop(task.params.wait);
  for (;;) {
    const phase = control.phase();
    window.observe(phase, seq);
    if (phase >= Phase.STOP) break;
    const n = producer.claim(batch, length);
    if (n === 0) {
      producer.flush();
      waits.record(await producer.awaitSpace(WAIT_SLICE_MS));
      continue;
    }
    const stamp = seq - lastStamp >= TIMESTAMP_EVERY;
    if (stamp) lastStamp = seq;
    writer.write(producer, n, seq, stamp ? STAMP_FIRST : STAMP_NONE);
    if (stamp) writer.stampFirst(producer);
    producer.commit();
    seq += n;
    if (++sinceTurn === YIELD_EVERY) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
  stopSpinning();
  producer.flush();
  control.reportSent(task.index, seq);
  const report = baseReport(task, window, waits, producer.counters());
  report.totalSent = seq;
  await producer.close();
  return report;
}

/** Open loop, as roles.ts's rate producer: latency from the intended send time. */
async function runRateProducer({ task, backend, control, ready }: NetworkContext<ProducerTask>): Promise<WorkerReport> {
  const producer = await backend.producer(task.queue, task.index);
  const { batch, payload, producers } = task.params;
  const writer = new EnvelopeWriter({ producerId: task.index, payload, verifyCrc: task.verifyCrc });
  const waits = new Waits();
  const sendLag = createHistogram(true);
  const window = new MeasureWindow(() => sendLag.reset());
  const length = HEADER_BYTES + payload;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const sleeps = task.params.wait !== 'spin';
  let seq = 0;
  ready();
  await phaseAtLeast(control, Phase.WARMUP);
  const schedule = new RateSchedule(task.params.rate! / producers, batch, nowNs());
  for (;;) {
    const phase = control.phase();
    window.observe(phase, seq);
    if (phase >= Phase.STOP) break;
    const intended = schedule.dueCell[0];
    tickClock();
    const ahead = intended - clockCell[0];
    if (ahead > 0) {
      // As the synchronous rate producer: sleep through gaps longer than SLEEP_FROM_NS, waking
      // WAKE_EARLY_NS early (a timer would fire ~1 ms late), then turn the event loop once so
      // replies are read. Turning the loop through every gap instead kept the producer's core
      // busy (measured: 88% of a core at 500k msg/s, batch 256), which the server then lacked.
      // A sleep lasts at most SLEEP_SLICE_MS: a client that writes a batch over several turns
      // (node-redis stops at the socket's high-water mark and goes on at 'drain') would
      // otherwise get one turn per gap (measured: redis-streams at 20k msg/s, batch 256, fell
      // 18% below the rate with a 400 ms p50; with slices it kept the rate).
      if (sleeps && ahead > SLEEP_FROM_NS) Atomics.wait(pause, 0, 0, Math.min((ahead - WAKE_EARLY_NS) / 1e6, SLEEP_SLICE_MS));
      await nextTurn();
      continue;
    }
    const n = producer.claim(schedule.remaining, length);
    if (n === 0) {
      producer.flush();
      waits.record(await producer.awaitSpace(WAIT_SLICE_MS));
      continue;
    }
    writer.times[0] = intended;
    writer.write(producer, n, seq, STAMP_INTENDED);
    writer.stampSentAt(producer, n);
    producer.commit();
    producer.flush();
    if (!window.stopped) sendLag.recordValueWithCount(Math.max(0, writer.times[1] - intended), n);
    seq += n;
    schedule.sent(n);
  }
  control.reportSent(task.index, seq);
  const report = baseReport(task, window, waits, producer.counters());
  addRateFigures(report, schedule, window, sendLag, seq);
  await producer.close();
  return report;
}

/**
 * Watches the phase while messages arrive on their own; after STOP, waits until this consumer
 * has every message it must have (its own count, or the group's), or the grace runs out.
 */
async function watchUntilDone(
  control: Control,
  window: MeasureWindow,
  received: () => number,
  unique: () => number,
  producers: number,
  failure: VisitorFailure,
): Promise<void> {
  const afterStop = new AfterStop(control, producers);
  let lastCount = -1;
  for (;;) {
    failure.rethrow();
    window.observe(control.phase(), received());
    if (window.stopped) {
      const count = received();
      const progressed = count !== lastCount;
      lastCount = count;
      if (afterStop.done(progressed, unique())) return;
    }
    await sleepMs(WATCH_MS);
  }
}

async function runConsumer({ task, backend, control, ready }: NetworkContext<ConsumerTask>): Promise<WorkerReport> {
  const consumer = await backend.consumer(task.queue, task.index, task.group !== undefined ? { group: task.group } : {});
  const { producers } = task.params;
  const check = task.ledger ? new GroupDeliveryCheck(task.ledger, producers, task.verifyCrc) : new DeliveryCheck(producers, task.verifyCrc);
  const latency = createHistogram(true);
  const isRate = task.workload === 'rate';
  const service: Histogram | null = isRate ? createHistogram(true) : null;
  const window = new MeasureWindow(() => {
    latency.reset();
    service?.reset();
  });
  const { visit, tally } = receiveVisitor(check, window, latency, service, isRate);
  const failure = new VisitorFailure();
  await consumer.start(visit, failure.record);
  ready();
  await phaseAtLeast(control, Phase.WARMUP);
  const stopSpinning = spinEventLoop(task.params.wait);
  await watchUntilDone(
    control,
    window,
    () => tally[RECEIVED],
    () => check.unique,
    producers,
    failure,
  );
  stopSpinning();
  failure.rethrow();
  const report = baseReport(task, window, new Waits(), consumer.counters());
  report.latency = encodeHistogram(latency);
  if (service !== null) report.serviceLatency = encodeHistogram(service);
  if (isRate) report.inFlightAtStop = tally[IN_FLIGHT_AT_STOP];
  report.delivery = { ...check.counts(), problems: check.problems };
  latency.destroy();
  service?.destroy();
  await consumer.close();
  return report;
}

/** Ping-pong client: a burst of `batch` requests, then every reply, then the next burst. */
async function runPinger({ task, backend, control, ready }: NetworkContext<PingerTask>): Promise<WorkerReport> {
  const requests = await backend.producer(task.queue, 0);
  const replies = await backend.consumer(task.reply, 0, {});
  const { batch, payload } = task.params;
  const writer = new EnvelopeWriter({ producerId: 0, payload, verifyCrc: task.verifyCrc });
  const check = new DeliveryCheck(1, task.verifyCrc);
  const waits = new Waits();
  const roundTrip = createHistogram(true);
  const window = new MeasureWindow(() => roundTrip.reset());
  const length = HEADER_BYTES + payload;
  let seq = 0;
  // Woken by the last reply of the burst, or by the slice's timer: counted as the synchronous
  // pinger counts its waits for replies.
  const replied = new WakeUp();
  const { visit: recordReply, tally } = roundTripVisitor(check, window, roundTrip);
  const visit: MessageVisitor = (bytes, offset, len) => {
    recordReply(bytes, offset, len);
    if (tally[RECEIVED] >= seq) replied.wake();
  };
  const failure = new VisitorFailure();
  await replies.start(visit, failure.record);
  ready();
  await phaseAtLeast(control, Phase.WARMUP);
  const stopSpinning = spinEventLoop(task.params.wait);
  for (;;) {
    const phase = control.phase();
    window.observe(phase, tally[RECEIVED]);
    if (phase >= Phase.STOP) break;
    const n = requests.claim(batch, length);
    if (n === 0) {
      waits.record(await requests.awaitSpace(WAIT_SLICE_MS));
      continue;
    }
    writer.write(requests, n, seq, STAMP_ALL);
    writer.stampAll(requests, n);
    requests.commit();
    requests.flush();
    seq += n;
    const waitedSince = nowNs();
    while (tally[RECEIVED] < seq) {
      waits.record(await replied.wait(WAIT_SLICE_MS));
      failure.rethrow();
      if (tally[RECEIVED] < seq && control.phase() >= Phase.STOP && nowNs() - waitedSince > DRAIN_GRACE_NS) break;
    }
  }
  stopSpinning();
  failure.rethrow();
  control.reportSent(0, seq);
  const report = baseReport(task, window, waits, twoQueueCounters(requests.counters(), replies.counters()));
  report.totalSent = seq;
  report.latency = encodeHistogram(roundTrip);
  report.delivery = { ...check.counts(), problems: check.problems };
  roundTrip.destroy();
  await Promise.all([requests.close(), replies.close()]);
  return report;
}

/** Ping-pong server: echoes every request, as it came, as soon as it arrives. */
async function runPonger({ task, backend, control, ready }: NetworkContext<PongerTask>): Promise<WorkerReport> {
  const requests = await backend.consumer(task.queue, 0, {});
  const replies = await backend.producer(task.reply, 0);
  const check = new DeliveryCheck(1, task.verifyCrc);
  const window = new MeasureWindow();
  let echoed = 0;
  const visit: MessageVisitor = (bytes, offset, length) => {
    check.check(bytes, offset, length);
    // Ping-pong has at most a burst (≤ 4096) in flight, far inside any flow-control window.
    if (replies.claim(1, length) === 0) throw new Error('the reply publisher ran out of credit during ping-pong');
    copyBytes(bytes, offset, replies.buffer, replies.offsetOf(0), length);
    replies.commit();
    echoed++;
  };
  const failure = new VisitorFailure();
  await requests.start(visit, failure.record);
  ready();
  await phaseAtLeast(control, Phase.WARMUP);
  const stopSpinning = spinEventLoop(task.params.wait);
  await watchUntilDone(
    control,
    window,
    () => echoed,
    () => check.unique,
    1,
    failure,
  );
  stopSpinning();
  failure.rethrow();
  replies.flush();
  const report = baseReport(task, window, new Waits(), twoQueueCounters(requests.counters(), replies.counters()));
  report.delivery = { ...check.counts(), problems: check.problems };
  await Promise.all([requests.close(), replies.close()]);
  return report;
}
