/**
 * Every backend delivers exactly once under every wait strategy, on real threads through the
 * harness; and the wait counters say what the threads did (a `block` consumer sleeps and is
 * woken; a `spin` one never sleeps).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResultFile } from '../harness/results/types.js';
import { runScenarioText } from './support/scenarios.js';

const text = `name: waits
duration: 250ms
warmup: 50ms
timeout: 20s
matrix:
  backend: [sab-spsc, mpsc-cas, mutex, post-message]
  payload: [64]
  producers: [1, 2]
  batch: [8]
  wait: [spin, park, block]
workloads:
  - kind: throughput
  - kind: ping-pong
`;

describe('wait strategies', () => {
  let result: ResultFile;
  beforeAll(async () => {
    result = await runScenarioText(text, 'waits.yaml');
  });

  it('every case that ran delivered every message exactly once, in order', () => {
    const ran = result.cases.filter((c) => c.status !== 'skipped');
    expect(ran.length).toBeGreaterThanOrEqual(30);
    for (const c of ran) {
      expect({ id: c.id, status: c.status, reason: c.reason }).toEqual({ id: c.id, status: 'ok', reason: undefined });
      const k = c.summary!.correctness!;
      expect(k.lost + k.duplicated + k.reordered + k.corrupt).toBe(0);
      expect(k.received).toBe(k.sent);
    }
  });

  it('records stalls, sleeps and wakes: block sleeps, spin never does', () => {
    for (const c of result.cases.filter((x) => x.status === 'ok' && x.workload === 'ping-pong')) {
      const w = c.summary!.wait!;
      if (c.params.wait === 'spin') expect(w.consumer.sleeps + w.producer.sleeps).toBe(0);
      // A ping-pong server waits for every request: with `block` it sleeps and gets woken.
      if (c.params.wait === 'block') {
        expect(w.consumer.sleeps).toBeGreaterThan(0);
        expect(w.consumer.wakes).toBeGreaterThan(0);
      }
    }
  });

  it("keeps both queues' counters in ping-pong, each under its queue's name", () => {
    // Both sab-spsc queues wake a sleeping reader with `block`: the request queue wakes the echo
    // server, the reply queue wakes the client. Merged under one name, one count would be lost.
    const c = result.cases.find((k) => k.id === 'sab-spsc/ping-pong/payload=64/producers=1/batch=8/wait=block')!;
    const counters = c.trials[0].backendCounters!;
    expect(counters['requests.notifies']).toBeGreaterThan(0);
    expect(counters['replies.notifies']).toBeGreaterThan(0);
    expect(counters.notifies).toBeUndefined();
  });

  it('counts failed CAS attempts for mpsc-cas under contention, lock contention for mutex', () => {
    const cas = result.cases.find((c) => c.id === 'mpsc-cas/throughput/payload=64/producers=2/batch=8/wait=spin')!;
    expect(Number.isInteger(cas.summary!.backendCounters!.casFailures)).toBe(true);
    const lock = result.cases.find((c) => c.id === 'mutex/throughput/payload=64/producers=2/batch=8/wait=spin')!;
    // Two producers and a consumer on one lock for 250 ms: it is fought over, and the count says so.
    expect(lock.summary!.backendCounters!.lockContended).toBeGreaterThan(0);
  });
});
