/**
 * Worker thread entry: attach to the queue named in workerData, run the role, report back.
 * Compiled to dist/ and started from there, so no TypeScript loader sits in the measured loop.
 */
import './v8-flags.js';
import { type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { findBackend, isNetworkBackend } from '../../implementations/registry.js';
import { initHistograms } from '../metrics/histogram.js';
import { Control } from './control.js';
import { runNetworkRole } from './network-roles.js';
import { pinCurrentThread } from './pinning.js';
import type { WorkerMessage, WorkerTask } from './protocol.js';
import { runRole } from './roles.js';

const send = (message: WorkerMessage) => parentPort!.postMessage(message);

async function main(task: WorkerTask): Promise<void> {
  await initHistograms();
  const backend = findBackend(task.backend);
  if (!backend) throw new Error(`unknown backend ${task.backend}`);
  const pin = task.pinCpu !== undefined ? pinCurrentThread(task.pinCpu) : undefined;
  // GC entries reach an observer only when the event loop turns, which a measured loop never
  // lets it do: they are collected after the loop, and kept if they started inside the window.
  const collections: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => collections.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const context = { task, control: new Control(task.control), ready: () => send({ type: 'ready' }) };
  // Network backends run on the event loop; in-process queues in synchronous loops, no await on their path.
  const reports = isNetworkBackend(backend) ? await runNetworkRole({ ...context, backend }) : runRole({ ...context, backend });
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 5));
  observer.disconnect();
  for (const report of reports) {
    if (report.windowPerfMs && report.windowPerfMs[1] > 0) {
      const [from, to] = report.windowPerfMs;
      const inside = collections.filter((e) => e.startTime >= from && e.startTime < to);
      report.gc = { count: inside.length, pauseNs: Math.round(inside.reduce((s, e) => s + e.duration, 0) * 1e6) };
    }
    if (pin !== undefined) {
      report.pinned = pin.pinned;
      if (pin.error) report.pinError = pin.error;
    }
    send({ type: 'report', report });
  }
}

main(workerData as WorkerTask).catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
});
