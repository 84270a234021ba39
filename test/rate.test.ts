/**
 * The open-loop `rate` workload: the schedule itself (on a fake clock), and coordinated
 * omission: a consumer stall must show in latency measured from the intended send time, while
 * latency from the actual send time (what a closed-loop tool reports) hides it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CaseResult } from '../harness/results/types.js';
import { RateSchedule } from '../harness/worker/rate-schedule.js';
import { runScenarioText } from './support/scenarios.js';

describe('rate schedule (fake clock)', () => {
  it('spaces single messages 1/rate apart from the start', () => {
    const s = new RateSchedule(500_000, 1, 1_000);
    expect(s.intervalNs).toBe(2_000);
    const due: number[] = [];
    for (let i = 0; i < 4; i++, s.next()) due.push(s.due);
    expect(due).toEqual([1_000, 3_000, 5_000, 7_000]);
  });

  it('sends bursts of `batch` at the same average rate', () => {
    const s = new RateSchedule(500_000, 256, 0);
    expect(s.intervalNs).toBe(512_000);
    s.next();
    expect(s.due).toBe(512_000);
  });

  it('keeps late bursts due at their original times after a stall, and counts the backlog', () => {
    const s = new RateSchedule(1_000_000, 1, 0); // one message per µs
    const stalledUntil = 5_000_500; // the sender was stuck for 5 ms
    expect(s.backlog(stalledUntil)).toBe(5_001);
    // The schedule does not slide: the next message is still due at 0, then 1 µs, …
    expect(s.due).toBe(0);
    for (let i = 0; i < 5_001; i++) s.next();
    expect(s.due).toBe(5_001_000);
    expect(s.backlog(stalledUntil)).toBe(0);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new RateSchedule(0, 1, 0)).toThrow(RangeError);
  });
});

describe('coordinated omission', () => {
  let c: CaseResult;
  beforeAll(async () => {
    // A small queue (56 messages) at 100k msg/s; the consumer stalls 5 ms every 20 000 messages.
    // While it sleeps, ~500 messages fall due, the queue fills, and the producer is held back.
    const text = `name: co
duration: 1s
warmup: 200ms
capacity: 4KiB
stall:
  every: 20000
  duration: 5ms
matrix:
  backend: [sab-spsc]
workloads:
  - kind: rate
    rate: 100k
`;
    const result = await runScenarioText(text, 'co.yaml');
    c = result.cases[0];
  });

  it('delivers everything and still reaches the target rate on average', () => {
    expect(c.status).toBe('ok');
    expect(c.summary!.correctness!.lost).toBe(0);
    expect(c.summary!.rate!.targetPerSec).toBe(100_000);
    expect(c.summary!.rate!.achievedPerSec).toBeGreaterThan(90_000);
  });

  it('shows the stall in p99 of latency from the intended send time', () => {
    expect(c.summary!.latencyNs!.p99).toBeGreaterThan(1_000_000);
    expect(c.summary!.latencyNs!.max).toBeGreaterThan(4_000_000);
  });

  it('hides it in p99 of latency from the actual send time, and the send lag explains why', () => {
    const service = c.summary!.serviceLatencyNs!;
    expect(service.p99).toBeLessThan(c.summary!.latencyNs!.p99! / 5);
    // The producer was held back: its sends lagged their schedule by milliseconds.
    expect(c.summary!.sendLagNs!.max).toBeGreaterThan(2_000_000);
  });
});

describe('the measure window', () => {
  it("is the coordinator's, so a consumer asleep in a block wait does not stretch it", async () => {
    // Bursts of 64 at 50k msg/s: the consumer sleeps between bursts; after STOP it would wake
    // only at its 100 ms wait timeout, which once made the rate read ~5% low.
    const text = `name: window
duration: 1s
warmup: 200ms
matrix:
  backend: [sab-spsc]
  batch: [64]
  wait: [block]
workloads:
  - kind: rate
    rate: 50k
`;
    const result = await runScenarioText(text, 'window.yaml');
    const s = result.cases[0].summary!;
    expect(s.rate!.achievedPerSec).toBeGreaterThan(49_000);
    expect(s.rate!.achievedPerSec).toBeLessThan(51_000);
    expect(s.windowNs).toBeGreaterThan(0.99e9);
    expect(s.windowNs).toBeLessThan(1.05e9);
  });
});
