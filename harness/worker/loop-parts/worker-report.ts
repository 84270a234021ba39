/** What every role reports of its window, whichever driver ran it. */
import { getHeapStatistics } from 'node:v8';
import type { BackendCounters } from '../../../implementations/contract.js';
import type { WaitCounters } from '../../results/types.js';
import type { MeasureWindow } from '../measure-window.js';
import type { WorkerReport, WorkerTask } from '../protocol.js';

export function baseReport(task: WorkerTask, window: MeasureWindow, wait: WaitCounters, counters: BackendCounters): WorkerReport {
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
