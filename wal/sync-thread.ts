/**
 * fdatasync on a thread of its own, for a log appended to by a thread that never yields to its
 * event loop (the `wal` backend's producer spins in claim/commit, so libuv's pool, whose callback
 * needs the loop, is no use to it). The appending thread starts a sync and goes on appending; it
 * asks later whether the sync ended (`poll`), or waits for it (`wait`). Under group commit the
 * appending thread had waited in fdatasync for 63% of a 64 KiB run; this lets the disk write one
 * group while the next is being appended.
 *
 *   control (Int32Array on a SharedArrayBuffer, one 128-byte line):
 *   word 0  requested: sequence number of the last sync asked for   (appending thread writes)
 *   word 1  fd: the file to sync                                    (appending thread writes)
 *   word 2  done: sequence number of the last sync that ended       (sync thread writes)
 *   word 3  outcome of that sync: 0, or the negative errno it failed with (sync thread writes)
 *   word 4  stop: 1 asks the sync thread to end                     (appending thread writes)
 *   word 5  state: 0 not started, 1 running, 2 ended                (sync thread writes)
 *   word 6  the last fdatasync's duration in µs, -1 until it ends   (both: reset at start)
 *
 * A thread that never starts, or leaves its loop while a sync is asked of it (an error thrown
 * there), must not leave the appender waiting forever with nothing acknowledged and nothing
 * said: `wait` looks at the state between slices of STALL_CHECK_MS, and `poll` at every call,
 * and either reports the thread's end as the sync's failure (which ends the log). Its 'error'
 * and 'exit' events cannot serve: they need the event loop the appender never reaches. Not
 * covered: an isolate killed outright (out of memory) runs no `finally`, so its state stays
 * "running" and a wait for it does not end.
 *
 * One sync at a time: `start` is refused while one runs. What the caller must hold to (wal/log.ts
 * does): the fd stays open until the sync that uses it has ended, or the number could name a
 * file opened since, and the sync would report that file's success for this one.
 *
 * The thread is made from source text (`eval`), not a file: the same code then runs from dist/
 * and under vitest, which runs this project's TypeScript sources and would hand a worker a .ts
 * path it cannot load.
 */
import { getSystemErrorName } from 'node:util';
import { Worker } from 'node:worker_threads';

const REQUESTED = 0;
const FD = 1;
const DONE = 2;
const OUTCOME = 3;
const STOP = 4;
const STATE = 5;
const DURATION_US = 6;
const STARTING = 0;
const RUNNING = 1;
const ENDED = 2;
/** How long `wait` sleeps between looks at the thread's state. */
const STALL_CHECK_MS = 1000;
/** A thread that has not begun by then never will (Node starts one in tens of ms). */
const START_TIMEOUT_MS = 30_000;

/** A sync started on another thread: what `LogFiles.backgroundSync` hands the log. */
export interface BackgroundSync {
  /** Starts an fdatasync of `fd`; throws when one is still running. */
  start(fd: number): void;
  /** Whether one was started and has not been seen to end by `poll` or `wait`. */
  readonly running: boolean;
  /** How long the last fdatasync that ended took, measured on the thread that made it (ns). */
  readonly lastSyncNs: number;
  /** undefined while it runs; null once it succeeded; the error it failed with. */
  poll(): Error | null | undefined;
  /** Waits for the running sync to end: null, or the error it failed with. */
  wait(): Error | null;
  /** Ends the thread (after the running sync, if any). */
  close(): void;
}

const THREAD_SOURCE = `
const { workerData } = require('node:worker_threads');
const { fdatasyncSync } = require('node:fs');
const control = new Int32Array(workerData);
let seen = 0;
Atomics.store(control, ${STATE}, ${RUNNING});
try {
  for (;;) {
    if (Atomics.load(control, ${STOP}) === 1) break;
    Atomics.wait(control, ${REQUESTED}, seen);
    if (Atomics.load(control, ${STOP}) === 1) break;
    const asked = Atomics.load(control, ${REQUESTED});
    if (asked === seen) continue;
    seen = asked;
    let outcome = 0;
    const started = performance.now();
    try {
      fdatasyncSync(Atomics.load(control, ${FD}));
    } catch (error) {
      outcome = typeof error.errno === 'number' && error.errno < 0 ? error.errno : -5;
    }
    // At least 1 µs: -1 means "not ended", and a sync on tmpfs can round to 0.
    Atomics.store(control, ${DURATION_US}, Math.max(1, Math.min(2 ** 31 - 1, Math.ceil((performance.now() - started) * 1000))));
    Atomics.store(control, ${OUTCOME}, outcome);
    Atomics.store(control, ${DONE}, seen);
    Atomics.notify(control, ${DONE});
  }
} finally {
  Atomics.store(control, ${STATE}, ${ENDED});
  Atomics.notify(control, ${DONE});
  Atomics.notify(control, ${STATE});
}
`;

/** fdatasync on a worker thread of its own (node:fs underneath). */
export class SyncThread implements BackgroundSync {
  private readonly control = new Int32Array(new SharedArrayBuffer(128));
  private readonly worker: Worker;
  private readonly createdMs = performance.now();
  private requested = 0;
  running = false;
  lastSyncNs = 0;

  constructor() {
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: this.control.buffer });
    // Never what keeps a process alive: the log closes it, and an exiting process takes it along.
    this.worker.unref();
  }

  start(fd: number): void {
    if (this.running) throw new Error('a background fdatasync is still running');
    this.running = true;
    this.requested = (this.requested + 1) | 0;
    Atomics.store(this.control, DURATION_US, -1);
    Atomics.store(this.control, FD, fd);
    Atomics.store(this.control, REQUESTED, this.requested);
    Atomics.notify(this.control, REQUESTED);
  }

  poll(): Error | null | undefined {
    if (!this.running) return null;
    if (Atomics.load(this.control, DONE) === this.requested) return this.ended();
    return this.stalled() ?? undefined;
  }

  wait(): Error | null {
    if (!this.running) return null;
    for (;;) {
      const done = Atomics.load(this.control, DONE);
      if (done === this.requested) return this.ended();
      const stalled = this.stalled();
      if (stalled !== null) return stalled;
      Atomics.wait(this.control, DONE, done, STALL_CHECK_MS);
    }
  }

  /** Whether the thread has ended (after `close`, or on its own). */
  get exited(): boolean {
    return Atomics.load(this.control, STATE) === ENDED;
  }

  close(): void {
    this.wait();
    Atomics.store(this.control, STOP, 1);
    // REQUESTED changes too, so a thread between its last sync and its next wait does not sleep
    // through the notify: its wait finds the value it expected gone and returns at once.
    this.requested = (this.requested + 1) | 0;
    Atomics.store(this.control, REQUESTED, this.requested);
    Atomics.notify(this.control, REQUESTED);
    // Its loop ends at once; wait (briefly) to see it end, then make sure of it.
    if (Atomics.load(this.control, STATE) === RUNNING) Atomics.wait(this.control, STATE, RUNNING, STALL_CHECK_MS);
    void this.worker.terminate();
  }

  /** The running sync's failure when the thread cannot make it: ended, or never started. */
  private stalled(): Error | null {
    const state = Atomics.load(this.control, STATE);
    // A sync that ended just before the thread did is that sync's outcome, not a stall.
    if (state === ENDED && Atomics.load(this.control, DONE) === this.requested) return null;
    if (state === ENDED || (state === STARTING && performance.now() - this.createdMs > START_TIMEOUT_MS)) {
      this.running = false;
      return Object.assign(new Error(`the log's sync thread ${state === ENDED ? 'ended' : 'never started'} with an fdatasync asked of it`), { code: 'EIO' });
    }
    return null;
  }

  private ended(): Error | null {
    this.running = false;
    this.lastSyncNs = Math.max(0, Atomics.load(this.control, DURATION_US)) * 1000;
    const errno = Atomics.load(this.control, OUTCOME);
    if (errno === 0) return null;
    const code = getSystemErrorName(errno);
    return Object.assign(new Error(`${code}: fdatasync failed (on the log's sync thread)`), { code, errno });
  }
}
