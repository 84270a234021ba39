/**
 * The `driver` role: a self-driven backend (native-threads) runs both sides on its own threads,
 * in C++, under the same control words as the harness's loops (implementations/self-driven.ts).
 */
import { getHeapStatistics } from 'node:v8';
import type { QueueBackend } from '../../implementations/contract.js';
import { isSelfDriven, type SelfDrivenSide } from '../../implementations/self-driven.js';
import { createHistogram, encodeHistogram } from '../metrics/histogram.js';
import { bucketValue } from '../metrics/log-buckets.js';
import type { DriverTask, WorkerReport } from './protocol.js';

/** Starts the backend's threads, blocks until they finish, and turns what they measured into the usual two reports. */
export function runSelfDriven(backend: QueueBackend, task: DriverTask, ready: () => void): WorkerReport[] {
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
