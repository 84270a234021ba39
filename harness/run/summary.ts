/**
 * A case's summary: the median of each figure over its trials, with 95% bootstrap intervals for
 * throughput and p99, and the scenario's SLO verdicts.
 */
import { mergeHistograms, summarize } from '../metrics/histogram.js';
import { bootstrapCi, median } from '../metrics/stats.js';
import { SCHEDULER_BOUND_PCT } from '../results/method.js';
import type { CaseSummary, Correctness, CpuFigures, LatencySummary, SchedulingFigures, SloVerdict, TrialResult } from '../results/types.js';
import type { Slo } from '../scenario/schema.js';

function medianOf<T>(trials: T[], pick: (t: T) => number | undefined): number | undefined {
  const values = trials.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
  return values.length > 0 ? median(values) : undefined;
}

/** Percentiles: the median over trials; histogram, count and max over all trials together. */
function latencyOf(trials: TrialResult[], pick: (t: TrialResult) => LatencySummary | undefined): LatencySummary | undefined {
  const summaries = trials.map(pick).filter((s): s is LatencySummary => s !== undefined);
  if (summaries.length === 0) return undefined;
  const merged = summarize(mergeHistograms(summaries.map((s) => s.histogram)));
  const out: LatencySummary = { max: merged.max, count: merged.count, histogram: merged.histogram };
  for (const key of ['p50', 'p90', 'p99', 'p999'] as const) {
    // A percentile that some trial could not support is left out of the summary too.
    if (summaries.every((s) => s[key] !== undefined)) out[key] = median(summaries.map((s) => s[key]!));
  }
  const warnings = [...new Set(summaries.flatMap((s) => s.warnings ?? []))];
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}

/** Key-by-key median of counter objects (a counter missing from a trial counts as 0). */
function medianCounters<T extends object>(perTrial: T[]): T {
  const rows = perTrial as unknown as Record<string, number>[];
  const keys = [...new Set(rows.flatMap((c) => Object.keys(c)))];
  return Object.fromEntries(keys.map((k) => [k, median(rows.map((c) => c[k] ?? 0))])) as T;
}

function assignDefined<T extends object>(target: T, values: { [K in keyof T]?: T[K] | undefined }): T {
  for (const [k, v] of Object.entries(values)) if (v !== undefined) (target as Record<string, unknown>)[k] = v;
  return target;
}

export function summarizeTrials(trials: TrialResult[], slo: Slo | undefined): CaseSummary | undefined {
  const measured = trials.filter((t) => t.correctness !== undefined);
  if (measured.length === 0) return undefined;
  const correctness: Correctness = { sent: 0, received: 0, lost: 0, duplicated: 0, reordered: 0, corrupt: 0 };
  for (const t of measured) for (const k of Object.keys(correctness) as (keyof Correctness)[]) correctness[k] += t.correctness![k];

  const summary: CaseSummary = { trials: measured.length, correctness };
  const throughputs = measured.map((t) => t.msgsPerSec).filter((v): v is number => v !== undefined);
  assignDefined(summary, {
    msgsPerSec: medianOf(measured, (t) => t.msgsPerSec),
    msgsPerSecCi95: bootstrapCi(throughputs),
    bytesPerSec: medianOf(measured, (t) => t.bytesPerSec),
    latencyNs: latencyOf(measured, (t) => t.latencyNs),
    serviceLatencyNs: latencyOf(measured, (t) => t.serviceLatencyNs),
    sendLagNs: latencyOf(measured, (t) => t.sendLagNs),
    windowNs: medianOf(measured, (t) => t.windowNs),
  });
  const p99s = measured.map((t) => t.latencyNs?.p99).filter((v): v is number => v !== undefined);
  const p99Ci = bootstrapCi(p99s);
  if (p99Ci) summary.p99Ci95 = p99Ci;

  const rates = measured.filter((t) => t.rate);
  if (rates.length > 0) {
    const target = rates[0].rate!.targetPerSec;
    const achieved = median(rates.map((t) => t.rate!.achievedPerSec));
    const shortfallPct = (100 * (target - achieved)) / target;
    summary.rate = {
      targetPerSec: target,
      achievedPerSec: achieved,
      shortfallPct,
      belowTarget: rates.some((t) => t.rate!.belowTarget),
      unsentAtStop: median(rates.map((t) => t.rate!.unsentAtStop ?? 0)),
      inFlightAtStop: median(rates.map((t) => t.rate!.inFlightAtStop ?? 0)),
    };
  }
  const cpu: CpuFigures = assignDefined<CpuFigures>(
    {},
    {
      producerPct: medianOf(measured, (t) => t.cpu?.producerPct),
      consumerPct: medianOf(measured, (t) => t.cpu?.consumerPct),
      processPct: medianOf(measured, (t) => t.cpu?.processPct),
      systemPct: medianOf(measured, (t) => t.cpu?.systemPct),
      // The worst trial: one disturbed trial is enough to doubt the case.
      otherPct: measured.some((t) => t.cpu?.otherPct !== undefined) ? Math.max(...measured.map((t) => t.cpu?.otherPct ?? 0)) : undefined,
      unavailable: measured.find((t) => t.cpu?.unavailable)?.cpu?.unavailable,
    },
  );
  if (Object.keys(cpu).length > 0) summary.cpu = cpu;
  const memories = measured.map((t) => t.memory).filter((m) => m !== undefined);
  if (memories.length > 0) {
    summary.memory = {
      rssBytes: Math.max(...memories.map((m) => m!.rssBytes)),
      rssAtStartBytes: Math.max(...memories.map((m) => m!.rssAtStartBytes ?? 0)),
      heapBytes: Math.max(...memories.map((m) => m!.heapBytes)),
      sharedBytes: Math.max(...memories.map((m) => m!.sharedBytes)),
    };
  }
  // Counters, like every other summary figure, are medians over trials (key by key).
  const waits = measured.map((t) => t.wait).filter((w) => w !== undefined);
  if (waits.length > 0) summary.wait = { producer: medianCounters(waits.map((w) => w!.producer)), consumer: medianCounters(waits.map((w) => w!.consumer)) };
  const counters = measured.map((t) => t.backendCounters).filter((c) => c !== undefined);
  if (counters.length > 0) summary.backendCounters = medianCounters(counters as Record<string, number>[]);
  const scheduled = measured.map((t) => t.scheduling).filter((x): x is SchedulingFigures => x !== undefined && !('unavailable' in x));
  if (scheduled.length > 0) summary.scheduling = medianCounters(scheduled);
  else if (measured.some((t) => t.scheduling))
    summary.scheduling = { unavailable: 'per-thread scheduling needs /proc/thread-self/schedstat and status (Linux)' };
  const gcs = measured.map((t) => t.gc).filter((g) => g !== undefined);
  if (gcs.length > 0) summary.gc = medianCounters(gcs as { count: number; pauseNs: number }[]);
  const servers = measured.map((t) => t.server).filter((x) => x !== undefined);
  if (servers.length > 0) {
    summary.server = assignDefined(
      {},
      {
        cpuPct: medianOf(servers, (x) => x!.cpuPct),
        cpuSecondsPerMillionMessages: medianOf(servers, (x) => x!.cpuSecondsPerMillionMessages),
        // The largest: memory is judged by its worst moment.
        peakRssBytes: servers.some((x) => x!.peakRssBytes !== undefined) ? Math.max(...servers.map((x) => x!.peakRssBytes ?? 0)) : undefined,
        runDelayPct: medianOf(servers, (x) => x!.runDelayPct),
        nodes: servers[0]!.nodes,
        unavailable: servers.find((x) => x!.unavailable)?.unavailable,
      },
    );
  }
  if (slo) {
    summary.slo = sloVerdicts(summary, slo);
    const latencyMissed = ['p50', 'p99', 'p999'].some((k) => summary.slo![k] === 'fail');
    const s = summary.scheduling;
    if (latencyMissed && s && !('unavailable' in s) && Math.max(s.producerRunDelayPct, s.consumerRunDelayPct) >= SCHEDULER_BOUND_PCT)
      summary.schedulerBound = true;
  }
  return summary;
}

/**
 * Each SLO the case measures gets a verdict; one it does not measure (e.g. a percentile left out
 * for too few samples) gets none, rather than a pass it did not earn. CPU is the consumer
 * thread's, in % of one core: the side that waits for messages, where wait strategies trade
 * CPU for latency. Producers are the load generator (a rate producer spins to keep time).
 */
export function sloVerdicts(s: CaseSummary, slo: Slo): Record<string, SloVerdict> {
  const verdicts: Record<string, SloVerdict> = {};
  const atMost = (key: string, value: number | undefined, limit: number | undefined) => {
    if (limit !== undefined && value !== undefined) verdicts[key] = value <= limit ? 'pass' : 'fail';
  };
  atMost('p50', s.latencyNs?.p50, slo.p50);
  atMost('p99', s.latencyNs?.p99, slo.p99);
  atMost('p999', s.latencyNs?.p999, slo.p999);
  atMost('rss', s.memory?.rssBytes, slo.rss);
  atMost('cpu', s.cpu?.consumerPct, slo.cpu);
  atMost('server-cpu', s.server?.cpuPct, slo['server-cpu']);
  atMost('server-rss', s.server?.peakRssBytes, slo['server-rss']);
  if (slo.throughput !== undefined && s.msgsPerSec !== undefined) verdicts.throughput = s.msgsPerSec >= slo.throughput ? 'pass' : 'fail';
  return verdicts;
}
