/**
 * Worker thread entry: attach to the queue named in workerData, run the role, report back.
 * Compiled to dist/ and started from there, so no TypeScript loader sits in the measured loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { findBackend } from '../../implementations/registry.js';
import { initHistograms } from '../metrics/histogram.js';
import { Control } from './control.js';
import type { WorkerMessage, WorkerTask } from './protocol.js';
import { pinCurrentThread } from './pinning.js';
import { runRole } from './roles.js';

const send = (message: WorkerMessage) => parentPort!.postMessage(message);

async function main(task: WorkerTask): Promise<void> {
  await initHistograms();
  const backend = findBackend(task.backend);
  if (!backend) throw new Error(`unknown backend ${task.backend}`);
  const pin = task.pinCpu !== undefined ? pinCurrentThread(task.pinCpu) : undefined;
  const reports = runRole({ task, backend, control: new Control(task.control), ready: () => send({ type: 'ready' }) });
  for (const report of reports) {
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
