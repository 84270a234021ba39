/**
 * One ring's micro-benchmarks in a thread of its own (micro-benchmarks.ts says why): builds the
 * ring's tasks, runs the ones named, and posts their figures back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { findQueueBackend } from '../../implementations/registry.js';
import { microResult, OPS_PER_CALL } from './micro-benchmarks.js';
import { RINGBUF_RAW, ringbufRawMicroTasks, ringMicroTasks } from './ring-micro.js';

const { ring, names, timeMs } = workerData as { ring: string; names: string[]; timeMs: number };
const backend = ring === RINGBUF_RAW ? undefined : findQueueBackend(ring);
const tasks = (backend ? ringMicroTasks(backend) : ringbufRawMicroTasks()).filter((t) => names.includes(t.name));
const bench = new Bench({ time: timeMs, warmupTime: 100 });
for (const task of tasks)
  bench.add(task.name, () => {
    for (let i = 0; i < OPS_PER_CALL; i++) task.run();
  });
await bench.run();
parentPort!.postMessage(bench.tasks.map((t) => microResult(t, 'ring', tasks.find((x) => x.name === t.name)!.messages)));
