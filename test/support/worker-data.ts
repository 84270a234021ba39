/**
 * What each test worker (test/support/*.mjs) is given as `workerData`. The tests that start them
 * pass data of these types, and each worker reads its data through the same type in JSDoc
 * (`// @ts-check`; tsconfig.test.json includes the workers), so a field renamed on one side
 * fails `tsc` instead of arriving as undefined on the other.
 */
import type { QueueDescriptor } from '../../implementations/contract.js';

/** cpu-worker.mjs: spin or sleep for `ms`, report the thread's own CPU over that time. */
export interface CpuWorkerData {
  mode: 'spin' | 'sleep';
  ms: number;
}

/** contract-worker.mjs: one contract edge case (`job`) against one backend. */
export interface ContractWorkerData {
  job: string;
  backendId: string;
}

/** stress-worker.mjs: one side of an exact-count stress run. */
export interface StressWorkerData {
  role: 'producer' | 'consumer';
  backendId: string;
  descriptor: QueueDescriptor;
  index: number;
  /** Messages per producer. */
  count: number;
  producers: number;
  /** The worker gives up, saying where it was stuck, after this long. */
  deadlineMs: number;
}

/** mutex-worker.mjs: one of its jobs. */
export type MutexWorkerData =
  | {
      job: 'increment';
      memory: SharedArrayBuffer;
      lockIndex: number;
      counterIndex: number;
      barrierIndex: number;
      workers: number;
      iterations: number;
    }
  | {
      job: 'tight-consumer' | 'tight-producer';
      descriptor: QueueDescriptor;
      rounds: number;
      backendId: string;
      timeoutMs: number;
      /** A shared word: set by a side that gave up, so the other stops too. */
      stop: SharedArrayBuffer;
      maxTimeouts: number;
    };
