/**
 * Saying why a tail is long, and keeping the harness out of its own figures: per-thread run
 * delay and context switches, garbage collections in the window, the NO-HEADROOM and
 * SCHEDULER-BOUND flags, an allocation-free clock, timestamps taken at publish, and a rate
 * producer that sleeps through its gaps.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLOCK_SOURCE, hrtimeNs, nowNs } from '../harness/metrics/clock.js';
import { createHistogram, encodeHistogram } from '../harness/metrics/histogram.js';
import { caseFlags } from '../harness/results/case-verdicts.js';
import type { ResultFile, TrialResult } from '../harness/results/types.js';
import { summarizeTrials } from '../harness/run/summary.js';
import { parseScenario } from '../harness/scenario/load.js';
import { planCases } from '../harness/scenario/plan.js';
import { EnvelopeWriter, STAMP_FIRST } from '../harness/worker/envelope-writer.js';
import { backendIds, findBackend, findQueueBackend } from '../implementations/registry.js';
import { EnvelopeCodec, encode, Flags, HEADER_BYTES, payloadCrc } from '../wire/envelope.js';
import { runScenarioText } from './support/scenarios.js';

const nativeClock = CLOCK_SOURCE.startsWith('clock_gettime');

describe('the clock', () => {
  it.runIf(nativeClock)('reads without allocating: 2 million reads, no garbage collection', () => {
    // In a bare Node process (the test runner's own threads allocate as they please).
    const script = `
      const { nowNs } = await import(${JSON.stringify(new URL('../dist/harness/metrics/clock.js', import.meta.url).href)});
      const { PerformanceObserver } = await import('node:perf_hooks');
      const spin = () => { let sum = 0; for (let i = 0; i < 2_000_000; i++) sum += nowNs(); return sum; };
      // Twice first: the loop is then optimised as a whole, as a measured loop is by its window.
      spin();
      spin();
      await new Promise((r) => setTimeout(r, 20));
      let collections = 0;
      const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
      observer.observe({ entryTypes: ['gc'] });
      spin();
      await new Promise((r) => setTimeout(r, 20));
      console.log(collections);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(Number(r.stdout.trim())).toBe(0);
  });

  it('agrees with process.hrtime to within a few microseconds', () => {
    const before = hrtimeNs();
    const now = nowNs();
    const after = hrtimeNs();
    expect(now).toBeGreaterThanOrEqual(before - 2_000);
    expect(now).toBeLessThanOrEqual(after + 2_000);
  });
});

describe('timestamps are taken at publish', () => {
  it('stampFirst sets the time of a filled batch at publish, without touching its payload CRC', () => {
    const backend = findQueueBackend('sab-spsc')!;
    const d = backend.create({ capacityBytes: 1 << 16, producers: 1, consumers: 1, maxMessageBytes: HEADER_BYTES + 64 });
    const producer = backend.producer(d, 0);
    const consumer = backend.consumer(d, 0);
    const writer = new EnvelopeWriter({ producerId: 0, payload: 64, verifyCrc: true });
    const n = producer.claim(4, HEADER_BYTES + 64);
    writer.write(producer, n, 0, STAMP_FIRST);
    const before = nowNs();
    writer.stampFirst(producer);
    const after = nowNs();
    producer.commit();
    const seen: { ts: number; flags: number; crcOk: boolean }[] = [];
    consumer.drain(10, (bytes, offset) => {
      const codec = new EnvelopeCodec(bytes);
      seen.push({ ts: codec.timestampNs(offset), flags: codec.flags(offset), crcOk: codec.crc(offset) === payloadCrc(bytes, offset + HEADER_BYTES, 64) });
    });
    expect(seen[0].ts).toBeGreaterThanOrEqual(before);
    expect(seen[0].ts).toBeLessThanOrEqual(after);
    expect(seen[0]).toMatchObject({ flags: Flags.TIMESTAMPED | Flags.HAS_CRC, crcOk: true });
    expect(seen.slice(1).every((s) => s.ts === 0 && s.crcOk)).toBe(true);
    void encode;
  });
});

describe('flags', () => {
  it('NO-HEADROOM when busy threads equal the cores, OVERSUBSCRIBED beyond', () => {
    const s = parseScenario('name: h\nmatrix:\n  backend: [mpsc-cas]\n  producers: [1, 2]\nworkloads:\n  - kind: throughput\n', 'h.yaml', backendIds());
    const [two, three] = planCases(s, findBackend, 3);
    expect([two.noHeadroom, two.oversubscribed, three.noHeadroom, three.oversubscribed]).toEqual([false, false, true, false]);
    const [onTwo, overTwo] = planCases(s, findBackend, 2);
    expect([onTwo.noHeadroom, overTwo.oversubscribed]).toEqual([true, true]);
  });

  it('SCHEDULER-BOUND when a latency SLO misses while a measured thread waited ≥ 1% of the window for a CPU', () => {
    const h = createHistogram(false);
    for (let i = 0; i < 100_000; i++) h.recordValue(i < 98_000 ? 500 : 2_000_000);
    const histogram = encodeHistogram(h);
    const trial = (delayPct: number): TrialResult => ({
      trial: 0,
      status: 'ok',
      msgsPerSec: 1e6,
      correctness: { sent: 1, received: 1, lost: 0, duplicated: 0, reordered: 0, corrupt: 0 },
      latencyNs: { p50: 500, p99: 2_000_000, max: 2_000_000, count: 100_000, histogram },
      scheduling: {
        producerRunDelayPct: 0.2,
        consumerRunDelayPct: delayPct,
        producerInvoluntarySwitches: 1,
        consumerInvoluntarySwitches: 9,
        producerVoluntarySwitches: 0,
        consumerVoluntarySwitches: 0,
      },
    });
    const flagsFor = (delayPct: number, p99Slo: number) => {
      const summary = summarizeTrials([trial(delayPct)], { p99: p99Slo })!;
      return caseFlags({
        id: 'x',
        backend: 'x',
        workload: 'rate',
        params: { payload: 0, producers: 1, batch: 1, wait: 'spin' },
        status: 'ok',
        oversubscribed: false,
        busyThreads: 2,
        trials: [],
        summary,
      }).map((f) => f.code);
    };
    expect(flagsFor(1.5, 10_000)).toContain('SCHEDULER-BOUND');
    expect(flagsFor(0.5, 10_000)).not.toContain('SCHEDULER-BOUND');
    expect(flagsFor(1.5, 10_000_000)).not.toContain('SCHEDULER-BOUND');
  });
});

describe('a rate case says why its tail is long, and its producer leaves the core free', () => {
  let result: ResultFile;
  beforeAll(async () => {
    const text = `name: attribution
duration: 1s
warmup: 300ms
matrix:
  backend: [sab-spsc]
  payload: [64]
  batch: [256]
  wait: [block]
workloads:
  - kind: rate
    rate: 500k
  - kind: throughput
`;
    result = await runScenarioText(text, 'attribution.yaml');
  });

  it('reports run delay, switches and GC for both sides; the rate producer uses < 30% of a core', () => {
    const rate = result.cases.find((c) => c.workload === 'rate')!;
    expect(rate.status).toBe('ok');
    const s = rate.summary!;
    expect(s.scheduling).toBeDefined();
    expect('unavailable' in s.scheduling!).toBe(false);
    const sched = s.scheduling as Exclude<typeof s.scheduling, { unavailable: string } | undefined>;
    expect(sched.producerRunDelayPct).toBeGreaterThanOrEqual(0);
    expect(sched.consumerRunDelayPct).toBeLessThan(100);
    // A block consumer at 500k msg/s in bursts of 256 sleeps between bursts: voluntary switches.
    expect(sched.consumerVoluntarySwitches).toBeGreaterThan(100);
    expect(s.gc).toBeDefined();
    expect(s.cpu!.producerPct!).toBeLessThan(30);
    expect(s.rate!.belowTarget).toBe(false);
  });

  it('a throughput case counts its garbage collections too, and a SharedArrayBuffer one has none', () => {
    const t = result.cases.find((c) => c.workload === 'throughput')!;
    expect(t.summary!.gc).toEqual({ count: 0, pauseNs: 0 });
  });
});

describe('the fixed latency buckets', () => {
  it('places every value in the bucket whose range holds it, within 0.2%', async () => {
    const { bucketOf, bucketValue } = await import('../harness/metrics/log-buckets.js');
    for (const v of [0, 1, 1023, 1024, 1025, 5000, 123_456, 2 ** 31, 987_654_321_012]) {
      const low = bucketValue(bucketOf(v));
      expect(low).toBeLessThanOrEqual(v);
      expect(v - low).toBeLessThanOrEqual(Math.max(0, v * 0.002));
    }
  });
});
