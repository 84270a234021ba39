/**
 * A test's worker thread, run to its answer with a deadline: a worker that deadlocks or spins
 * fails its test, and is terminated, instead of hanging the runner or spinning beside the next
 * test on a 2-core machine.
 */
import { Worker } from 'node:worker_threads';

export interface WorkerRun {
  /** What the worker does, for the error a deadline or a crash gives. */
  what: string;
  /** Give up, terminating the worker, after this long. */
  deadlineMs: number;
  /** Objects moved to the worker (a MessagePort, say). */
  transfer?: readonly unknown[];
  /** Terminate the worker once it has answered (it would otherwise go on, or wait). */
  terminateOnAnswer?: boolean;
}

/** The first message `url`'s worker posts, given `workerData`. */
export function workerAnswer<T>(url: URL, workerData: unknown, run: WorkerRun): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData, transferList: (run.transfer ?? []) as never[] });
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const timer = setTimeout(
      () =>
        settle(() => {
          void worker.terminate();
          reject(new Error(`${run.what}: no answer in ${run.deadlineMs} ms (deadlocked?)`));
        }),
      run.deadlineMs,
    );
    worker.once('message', (m) =>
      settle(() => {
        if (run.terminateOnAnswer) void worker.terminate();
        resolve(m as T);
      }),
    );
    worker.once('error', (e) => settle(() => reject(new Error(`${run.what}: ${e.message}`, { cause: e }))));
    worker.once('messageerror', (e) => settle(() => reject(new Error(`${run.what}: its answer could not be read (${e.message})`))));
    worker.once('exit', (code) => settle(() => reject(new Error(`${run.what}: the worker exited with ${code} before it answered`))));
  });
}
