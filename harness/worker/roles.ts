/**
 * The loops each worker thread runs. One file so the four roles stay visibly alike:
 *
 *   throughput  producer ×N ──queue──▶ consumer          closed loop, as fast as the queue takes
 *   rate        producer ×N ──queue──▶ consumer          open loop, sends on a schedule
 *   ping-pong   pinger ──queue──▶ ponger ──reply──▶ pinger   one round trip at a time (or a burst)
 *
 * Every loop polls the control PHASE between batches; work done before MEASURE or after STOP is
 * not counted, but every message is still checked for delivery.
 */

import { getHeapStatistics } from 'node:v8';
import type { BackendCounters, Consumer, MessageVisitor, QueueBackend } from '../../implementations/contract.js';
import { isSelfDriven, type SelfDrivenSide } from '../../implementations/self-driven.js';
import { HEADER_BYTES } from '../../wire/envelope.js';
import { clockCell, nowNs, tickClock } from '../metrics/clock.js';
import { createHistogram, encodeHistogram, type Histogram } from '../metrics/histogram.js';
import { bucketValue } from '../metrics/log-buckets.js';
import { SLEEP_FROM_NS, TIMESTAMP_EVERY } from '../results/method.js';
import type { WaitCounters } from '../results/types.js';
import { AfterStop, DRAIN_GRACE_NS } from './after-stop.js';
import { type Control, Phase } from './control.js';
import { DeliveryCheck } from './delivery-check.js';
import { EnvelopeWriter, STAMP_ALL, STAMP_FIRST, STAMP_INTENDED, STAMP_NONE } from './envelope-writer.js';
import { HeldClaimRehearsal } from './held-claim.js';
import { MeasureWindow } from './measure-window.js';
import type { ConsumerTask, DriverTask, PingerTask, PongerTask, ProducerTask, Stall, WorkerReport, WorkerTask } from './protocol.js';
import { addRateFigures, RateSchedule } from './rate-schedule.js';
import { IN_FLIGHT_AT_STOP, RECEIVED, receiveVisitor, roundTripVisitor } from './receive-visitor.js';
import { WaitStrategy } from './wait-strategy.js';

/** Most messages a consumer takes per drain call. */
export const DRAIN_MAX = 1024;
/** How early it asks to wake: the sleep's own lateness, measured ~50–100 µs on these machines. */
export const WAKE_EARLY_NS = 110_000;

/**
 * Copies a record between buffers. Short aligned records go word by word: `set(subarray(…))`
 * allocates a view per call, which shows in a sub-microsecond round trip.
 */
export function copyBytes(from: Uint8Array, fromOffset: number, to: Uint8Array, toOffset: number, length: number): void {
  if (length <= 256 && ((from.byteOffset + fromOffset) & 3) === 0 && ((to.byteOffset + toOffset) & 3) === 0 && (length & 3) === 0) {
    const src = wordsOf(from);
    const dst = wordsOf(to);
    const s = (from.byteOffset + fromOffset) >> 2;
    const d = (to.byteOffset + toOffset) >> 2;
    for (let i = 0; i < length >> 2; i++) dst[d + i] = src[s + i];
    return;
  }
  to.set(from.subarray(fromOffset, fromOffset + length), toOffset);
}

const wordViews = new WeakMap<ArrayBufferLike, Uint32Array>();
function wordsOf(bytes: Uint8Array): Uint32Array {
  let words = wordViews.get(bytes.buffer);
  if (words === undefined || words.byteLength !== (bytes.buffer.byteLength & ~3)) {
    words = new Uint32Array(bytes.buffer, 0, bytes.buffer.byteLength >> 2);
    wordViews.set(bytes.buffer, words);
  }
  return words;
}

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
      return runDriver({ ...ctx, task });
  }
}

/**
 * A self-driven backend (native-threads) runs both sides on its own threads; this worker starts
 * them, blocks until they finish, and turns what they measured into the usual two reports.
 */
function runDriver({ task, backend, ready }: Context<DriverTask>): WorkerReport[] {
  if (!isSelfDriven(backend)) throw new Error(`${backend.id} is not self-driven`);
  const pingPong = task.workload === 'ping-pong';
  ready();
  const r = backend.runThreads({
    queue: task.queue,
    ...(task.reply ? { reply: task.reply } : {}),
    control: task.control,
    pingPong,
    payload: task.params.payload,
    batch: task.params.batch,
    pinProducer: task.pinProducer,
    pinConsumer: task.pinConsumer,
  });
  const latency = createHistogram(true);
  const buckets = r.latencyBuckets;
  for (let i = 0; i < buckets.length; i++) if (buckets[i] > 0) latency.recordValueWithCount(bucketValue(i), buckets[i]);
  const idle = { stalls: 0, sleeps: 0, wakes: 0, timeouts: 0 };
  const heap = getHeapStatistics().used_heap_size;
  const side = (role: WorkerReport['role'], s: SelfDrivenSide): WorkerReport => {
    // Native threads read no /proc schedule here (their CPU comes from the C++ side).
    const report: WorkerReport = {
      role,
      index: 0,
      windowMessages: s.windowMessages,
      windowNs: s.windowNs,
      cpuNs: s.cpuNs,
      scheduling: null,
      wait: idle,
      backendCounters: {},
      heapUsedBytes: heap,
    };
    if (task.pinProducer >= 0) report.pinned = s.pinned;
    if (s.pinError) report.pinError = s.pinError;
    return report;
  };
  const writer = side(pingPong ? 'pinger' : 'producer', r.producer);
  const reader = side(pingPong ? 'ponger' : 'consumer', r.consumer);
  writer.totalSent = r.sent;
  const delivery = { received: r.received, duplicated: r.duplicated, reordered: r.reordered, corrupt: r.corrupt, problems: [] };
  // Throughput is counted where messages arrive: the consumer, or the ping-pong client.
  const receiving = pingPong ? writer : reader;
  receiving.delivery = delivery;
  receiving.latency = encodeHistogram(latency);
  latency.destroy();
  return [writer, reader];
}

/**
 * The counters of a role that works two queues (ping-pong), each under its queue's name:
 * both queues can count the same thing (`notifies`, `nativeCalls`), and one must not hide the other.
 */
export function twoQueueCounters(requests: BackendCounters, replies: BackendCounters): BackendCounters {
  const named: BackendCounters = {};
  for (const [key, value] of Object.entries(requests)) named[`requests.${key}`] = value;
  for (const [key, value] of Object.entries(replies)) named[`replies.${key}`] = value;
  return named;
}

/** What every role reports of its window (both loop files: this one and network-roles.ts). */
export function baseReport(task: WorkerTask, window: MeasureWindow, wait: WaitCounters, counters: Record<string, number>): WorkerReport {
  return {
    role: task.role as WorkerReport['role'],
    index: task.index,
    windowMessages: window.messages,
    windowNs: window.durationNs,
    cpuNs: window.cpuNs,
    scheduling: window.scheduling,
    windowPerfMs: [window.startPerfMs, window.endPerfMs],
    wait: { stalls: wait.stalls, sleeps: wait.sleeps, wakes: wait.wakes, timeouts: wait.timeouts },
    backendCounters: counters,
    heapUsedBytes: getHeapStatistics().used_heap_size,
  };
}

function runProducer({ task, backend, control, ready }: Context<ProducerTask>): WorkerReport {
  const producer = backend.producer(task.queue, task.index);
  const { batch, payload } = task.params;
  const writer = new EnvelopeWriter({ producerId: task.index, payload, verifyCrc: task.verifyCrc });
  const wait = new WaitStrategy(task.params.wait);
  const sleep = (ms: number) => producer.awaitSpace(ms);
  const window = new MeasureWindow();
  const length = HEADER_BYTES + payload;
  let seq = 0;
  let lastStamp = -TIMESTAMP_EVERY;
  let filled = false;
  const rehearsal = new HeldClaimRehearsal(control);
  ready();
  control.awaitPhase(Phase.WARMUP);
  for (;;) {
    const phase = control.phase();
    window.observe(phase, seq);
    if (phase >= Phase.STOP) break;
    const n = producer.claim(batch, length);
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
    rehearsal.hold();
    wait.progressed();
    const stamp = seq - lastStamp >= TIMESTAMP_EVERY;
    if (stamp) lastStamp = seq;
    writer.write(producer, n, seq, stamp ? STAMP_FIRST : STAMP_NONE);
    if (stamp) writer.stampFirst(producer);
    producer.commit();
    seq += n;
  }
  control.reportSent(task.index, seq);
  const report = baseReport(task, window, wait.counters, producer.counters());
  report.totalSent = seq;
  producer.close();
  return report;
}

/**
 * Open loop (wrk2-style): bursts of `batch` messages are due every batch/rate seconds from the
 * start, whatever happened before. Each message carries its INTENDED send time, so a stall on
 * either side shows up as latency of every message that was due during it (no coordinated
 * omission). The producer never skips ahead: it sends late messages as fast as the queue takes.
 */
function runRateProducer({ task, backend, control, ready }: Context<ProducerTask>): WorkerReport {
  const producer = backend.producer(task.queue, task.index);
  const { batch, payload, producers } = task.params;
  const rate = task.params.rate!;
  const writer = new EnvelopeWriter({ producerId: task.index, payload, verifyCrc: task.verifyCrc });
  const wait = new WaitStrategy(task.params.wait);
  const sleep = (ms: number) => producer.awaitSpace(ms);
  const sendLag = createHistogram(true);
  const window = new MeasureWindow(() => sendLag.reset());
  const length = HEADER_BYTES + payload;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let seq = 0;
  let busy = false;
  const rehearsal = new HeldClaimRehearsal(control);
  ready();
  control.awaitPhase(Phase.WARMUP);
  // Each producer carries its share of the rate.
  const schedule = new RateSchedule(rate / producers, batch, nowNs());
  for (;;) {
    const phase = control.phase();
    window.observe(phase, seq);
    if (phase >= Phase.STOP) break;
    const intended = schedule.dueCell[0];
    tickClock();
    const ahead = intended - clockCell[0];
    if (ahead > 0) {
      // Going quiet: a backend that batches work it owes (the log's group commit) does it now.
      if (busy) {
        busy = false;
        producer.idle?.();
        continue;
      }
      // Sleep through gaps longer than SLEEP_FROM_NS, waking WAKE_EARLY_NS early because
      // Atomics.wait returns ~50–100 µs late here; spin only through the rest. At batch 256 and
      // 500k msg/s (a burst every 512 µs) the producer then leaves most of its core free.
      if (ahead > SLEEP_FROM_NS) Atomics.wait(pause, 0, 0, (ahead - WAKE_EARLY_NS) / 1e6);
      continue;
    }
    const n = producer.claim(schedule.remaining, length);
    if (n === 0) {
      wait.stall(sleep);
      continue;
    }
    rehearsal.hold();
    wait.progressed();
    writer.times[0] = intended;
    writer.write(producer, n, seq, STAMP_INTENDED);
    // The actual send time is taken at publish, after the batch is filled.
    writer.stampSentAt(producer, n);
    producer.commit();
    if (!window.stopped) sendLag.recordValueWithCount(Math.max(0, writer.times[1] - intended), n);
    seq += n;
    schedule.sent(n);
    busy = true;
  }
  control.reportSent(task.index, seq);
  const report = baseReport(task, window, wait.counters, producer.counters());
  addRateFigures(report, schedule, window, sendLag, seq);
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
  check: DeliveryCheck;
  /** Producers whose totals to wait for after STOP. */
  producers: number;
  /** Most messages one drain call takes. */
  max: number;
  /** Messages this side has handled so far. */
  count: () => number;
  stall: Stall | undefined;
}

/** Drains until STOP, then until every message producers reported is in (or the grace runs out). */
function drainLoop({ consumer, visit, control, window, wait, check, producers, max, count, stall }: DrainLoop): void {
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
    if (window.stopped && afterStop.done(n > 0, check.unique)) return;
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
  const { producers } = task.params;
  const check = new DeliveryCheck(producers, task.verifyCrc);
  const wait = new WaitStrategy(task.params.wait);
  const latency = createHistogram(true);
  const isRate = task.workload === 'rate';
  const service: Histogram | null = isRate ? createHistogram(true) : null;
  const window = new MeasureWindow(() => {
    latency.reset();
    service?.reset();
  });
  const { visit, tally } = receiveVisitor(check, window, latency, service, isRate);
  ready();
  control.awaitPhase(Phase.WARMUP);
  if (task.workload === 'throughput') control.awaitFilled();
  drainLoop({ consumer, visit, control, window, wait, check, producers, max: DRAIN_MAX, count: () => tally[RECEIVED], stall: task.stall });
  const report = baseReport(task, window, wait.counters, consumer.counters());
  report.latency = encodeHistogram(latency);
  if (service !== null) report.serviceLatency = encodeHistogram(service);
  if (isRate) report.inFlightAtStop = tally[IN_FLIGHT_AT_STOP];
  report.delivery = { ...check.counts(), problems: check.problems };
  latency.destroy();
  service?.destroy();
  consumer.close();
  return report;
}

/** Ping-pong client: sends a burst of `batch` (usually 1), waits for every reply, records round trips. */
function runPinger({ task, backend, control, ready }: Context<PingerTask>): WorkerReport {
  const requests = backend.producer(task.queue, 0);
  const replies = backend.consumer(task.reply, 0);
  const { batch, payload } = task.params;
  const writer = new EnvelopeWriter({ producerId: 0, payload, verifyCrc: task.verifyCrc });
  const check = new DeliveryCheck(1, task.verifyCrc);
  const wait = new WaitStrategy(task.params.wait);
  const sleepSpace = (ms: number) => requests.awaitSpace(ms);
  const sleepData = (ms: number) => replies.awaitData(ms);
  const roundTrip = createHistogram(true);
  const window = new MeasureWindow(() => roundTrip.reset());
  const length = HEADER_BYTES + payload;
  const { visit, tally } = roundTripVisitor(check, window, roundTrip);
  let seq = 0;
  const rehearsal = new HeldClaimRehearsal(control);
  ready();
  control.awaitPhase(Phase.WARMUP);
  outer: for (;;) {
    const phase = control.phase();
    window.observe(phase, tally[RECEIVED]);
    if (phase >= Phase.STOP) break;
    const n = requests.claim(batch, length);
    if (n === 0) {
      wait.stall(sleepSpace);
      continue;
    }
    rehearsal.hold();
    writer.write(requests, n, seq, STAMP_ALL);
    writer.stampAll(requests, n);
    requests.commit();
    seq += n;
    const stalledSince = nowNs();
    while (tally[RECEIVED] < seq) {
      if (replies.drain(seq - tally[RECEIVED], visit) === 0) {
        wait.stall(sleepData);
        if (control.phase() >= Phase.STOP && nowNs() - stalledSince > DRAIN_GRACE_NS) break outer;
      }
    }
    wait.progressed();
  }
  control.reportSent(0, seq);
  const report = baseReport(task, window, wait.counters, twoQueueCounters(requests.counters(), replies.counters()));
  report.totalSent = seq;
  report.latency = encodeHistogram(roundTrip);
  report.delivery = { ...check.counts(), problems: check.problems };
  roundTrip.destroy();
  requests.close();
  replies.close();
  return report;
}

/** Ping-pong server: echoes every request, as it came, onto the reply queue. */
function runPonger({ task, backend, control, ready }: Context<PongerTask>): WorkerReport {
  const requests = backend.consumer(task.queue, 0);
  const replies = backend.producer(task.reply, 0);
  const check = new DeliveryCheck(1, task.verifyCrc);
  const wait = new WaitStrategy(task.params.wait);
  const sleepSpace = (ms: number) => replies.awaitSpace(ms);
  const window = new MeasureWindow();
  let echoed = 0;
  const rehearsal = new HeldClaimRehearsal(control);
  const visit: MessageVisitor = (bytes, offset, length) => {
    check.check(bytes, offset, length);
    while (replies.claim(1, length) === 0) wait.stall(sleepSpace);
    rehearsal.hold();
    copyBytes(bytes, offset, replies.buffer, replies.offsetOf(0), length);
    replies.commit();
    echoed++;
  };
  ready();
  control.awaitPhase(Phase.WARMUP);
  drainLoop({ consumer: requests, visit, control, window, wait, check, producers: 1, max: task.params.batch, count: () => echoed, stall: task.stall });
  const report = baseReport(task, window, wait.counters, twoQueueCounters(requests.counters(), replies.counters()));
  report.delivery = { ...check.counts(), problems: check.problems };
  requests.close();
  replies.close();
  return report;
}
