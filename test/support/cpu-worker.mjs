// @ts-check
/**
 * Spins or sleeps for `ms` and reports its own thread CPU over that time.
 */
import { parentPort, workerData } from 'node:worker_threads';
const { threadCpuNs } = await import(new URL('../../dist/harness/metrics/thread-cpu.js', import.meta.url).href);
/** @type {import('./worker-data.js').CpuWorkerData} */
const { mode, ms } = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const start = process.hrtime.bigint();
const cpu0 = threadCpuNs();
if (mode === 'spin') {
  while (Number(process.hrtime.bigint() - start) < ms * 1e6);
} else {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
const wall = Number(process.hrtime.bigint() - start);
port.postMessage({ pct: (100 * (threadCpuNs() - cpu0)) / wall });
