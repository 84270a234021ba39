/**
 * The report's charts as vega-lite specs, built from result files. A chart is made only when
 * the data supports it (e.g. latency against rate needs at least two rates); each comes with a
 * caption saying what it shows and how it was measured.
 */
import type { TopLevelSpec } from 'vega-lite';
import { decodeHistogram } from '../metrics/histogram.js';
import { MIN_TAIL_SAMPLES, SCHEDULER_BOUND_PCT, TIMESTAMP_EVERY } from '../results/method.js';
import { NEAR_BELOW_NS, placementModes, placementOf } from '../results/placement.js';
import { backendOfServerKey } from '../results/server-key.js';
import { type CaseResult, isOkCase, type OkCase, type ResultFile } from '../results/types.js';
import { runLabels } from './case-rows.js';

export interface ChartSpec {
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

const WIDTH = 560;
/** Case labels are long; let the legend show them whole. */
const LEGEND = { legend: { labelLimit: 360 } };
const HEIGHT = 300;

/** What every chart's spec starts with: the schema, the shared legend, the data, and (unfaceted) the size. */
function frame(rows: object[], sized = true) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: LEGEND,
    ...(sized ? { width: WIDTH, height: HEIGHT } : {}),
    data: { values: rows },
  };
}

function label(c: CaseResult): string {
  const p = c.params;
  // The rate too: two rate cases differing only in it are two series, not one zig-zag line.
  const rate = p.rate !== undefined ? ` r=${p.rate >= 1000 ? `${p.rate / 1000}k` : p.rate}/s` : '';
  return `${c.backend} p=${p.payload} b=${p.batch} ${p.wait}${durabilityTag(p)}${p.producers > 1 ? ` n=${p.producers}` : ''}${rate}`;
}

/** ` batch` / ` always` for a durable backend's policy; nothing for `none` (every in-memory queue). */
function durabilityTag(p: CaseResult['params']): string {
  return p.durability !== undefined ? ` ${p.durability}` : '';
}

const okCases = (results: ResultFile[]): OkCase[] => results.flatMap((r) => r.cases).filter(isOkCase);

function distinct<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** Throughput by backend, grouped by payload, one panel per batch size, with 95% CI whiskers. */
function throughputChart(cases: OkCase[]): ChartSpec | undefined {
  const rows = cases
    .filter((c) => c.workload === 'throughput' && c.summary.msgsPerSec !== undefined && c.params.producers === 1 && c.params.wait === 'spin')
    .map((c) => ({
      backend: c.backend,
      payload: `${c.params.payload} B`,
      batch: `batch ${c.params.batch}`,
      msgsPerSec: c.summary.msgsPerSec!,
      lo: c.summary.msgsPerSecCi95?.[0] ?? c.summary.msgsPerSec!,
      hi: c.summary.msgsPerSecCi95?.[1] ?? c.summary.msgsPerSec!,
      oversubscribed: c.oversubscribed,
    }));
  if (rows.length === 0) return undefined;
  const batches = distinct(rows.map((r) => r.batch));
  return {
    id: 'throughput',
    title: 'Throughput by backend, payload and batch',
    caption:
      'Closed loop, one producer, busy-spin. Messages per second counted by the consumer over the measure window (median over trials); whiskers are the 95% bootstrap interval over trials where there are two or more. Log scale.',
    spec: {
      ...frame(rows, false),
      facet: { column: { field: 'batch', type: 'nominal', title: null, sort: batches } },
      spec: {
        width: Math.max(200, Math.floor(WIDTH / batches.length)),
        height: HEIGHT,
        layer: [
          {
            // Points, not bars: a bar on a log axis has no base to stand on.
            mark: { type: 'point', filled: true, size: 90 },
            encoding: {
              x: { field: 'backend', type: 'nominal', title: null, axis: { labelAngle: -40 } },
              xOffset: { field: 'payload', type: 'nominal' },
              y: { field: 'msgsPerSec', type: 'quantitative', scale: { type: 'log' }, title: 'messages per second', axis: { format: '~s' } },
              color: { field: 'payload', type: 'nominal', title: 'payload' },
              shape: { field: 'payload', type: 'nominal', title: 'payload' },
              tooltip: [{ field: 'backend' }, { field: 'payload' }, { field: 'batch' }, { field: 'msgsPerSec', format: '.3s' }],
            },
          },
          {
            mark: { type: 'rule', color: 'black' },
            encoding: {
              x: { field: 'backend', type: 'nominal' },
              xOffset: { field: 'payload', type: 'nominal' },
              y: { field: 'lo', type: 'quantitative' },
              y2: { field: 'hi' },
            },
          },
        ],
      },
    } as TopLevelSpec,
  };
}

const SPECTRUM_PERCENTILES = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99];

/**
 * HdrHistogram-style percentile spectrum: x is 1/(1−p) on a log axis, so p50, p90, p99, p99.9
 * are evenly spaced. One line per case of the workload with the most latency data; percentiles
 * with fewer than MIN_TAIL_SAMPLES samples beyond them are left out.
 */
function spectrumChart(cases: OkCase[], workload: CaseResult['workload']): ChartSpec | undefined {
  let chosen = cases.filter((c) => c.workload === workload && c.summary.latencyNs && c.summary.latencyNs.count > 0);
  if (chosen.length === 0) return undefined;
  // Too many lines to read: keep one reference configuration per backend.
  if (chosen.length > 10) {
    const byBackend = new Map<string, OkCase>();
    for (const c of chosen) {
      const best = byBackend.get(c.backend);
      const score = (x: OkCase) => x.params.payload + x.params.batch * 1000 + (x.params.wait === 'spin' ? 0 : 1e9) + x.params.producers * 1e7;
      if (!best || score(c) < score(best)) byBackend.set(c.backend, c);
    }
    chosen = [...byBackend.values()];
  }
  const rows = chosen.flatMap((c) => {
    const h = decodeHistogram(c.summary.latencyNs!.histogram);
    const count = h.totalCount;
    const points = SPECTRUM_PERCENTILES.filter((p) => count >= MIN_TAIL_SAMPLES / (1 - p / 100)).map((p) => ({
      series: label(c),
      percentile: `p${p}`,
      x: 1 / (1 - p / 100),
      latencyUs: h.getValueAtPercentile(p) / 1000,
    }));
    h.destroy();
    return points;
  });
  if (rows.length === 0) return undefined;
  const what =
    workload === 'ping-pong'
      ? 'Round trip through a request and a reply queue, every message timed.'
      : workload === 'rate'
        ? 'Open loop: latency from the intended send time (coordinated omission accounted for).'
        : `Closed loop: one message in ${TIMESTAMP_EVERY} timed; the time a message spends in a saturated queue.`;
  return {
    id: `spectrum-${workload}`,
    title: `Latency percentile spectrum (${workload})`,
    caption: `${what} x is 1/(1−p) on a log axis (p50 … p99.99); a percentile is drawn only where at least ${MIN_TAIL_SAMPLES} samples lie beyond it. Log scale.`,
    spec: {
      ...frame(rows),
      mark: { type: 'line', point: true },
      encoding: {
        x: {
          field: 'x',
          type: 'quantitative',
          scale: { type: 'log' },
          title: 'percentile',
          axis: { values: [2, 10, 100, 1000, 10000], labelExpr: "{'2': 'p50', '10': 'p90', '100': 'p99', '1000': 'p99.9', '10000': 'p99.99'}[datum.value]" },
        },
        y: { field: 'latencyUs', type: 'quantitative', scale: { type: 'log' }, title: 'latency (µs)' },
        color: { field: 'series', type: 'nominal', title: 'case' },
        tooltip: [{ field: 'series' }, { field: 'percentile' }, { field: 'latencyUs', format: '.3~f', title: 'µs' }],
      },
    } as TopLevelSpec,
  };
}

/** p99 against the offered rate, one line per backend and wait strategy (needs two rates). */
function latencyVsRateChart(cases: OkCase[]): ChartSpec | undefined {
  const rows = cases
    .filter((c) => c.workload === 'rate' && c.summary.latencyNs?.p99 !== undefined)
    .map((c) => ({
      series: `${c.backend} b=${c.params.batch} ${c.params.wait}${durabilityTag(c.params)}`,
      rate: c.params.rate!,
      p99Us: c.summary.latencyNs!.p99! / 1000,
    }));
  if (distinct(rows.map((r) => r.rate)).length < 2) return undefined;
  return {
    id: 'latency-vs-rate',
    title: 'p99 latency against offered rate',
    caption: 'Open loop; latency from the intended send time. Log scales.',
    spec: {
      ...frame(rows),
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'rate', type: 'quantitative', scale: { type: 'log' }, title: 'offered rate (msg/s)' },
        y: { field: 'p99Us', type: 'quantitative', scale: { type: 'log' }, title: 'p99 (µs)' },
        color: { field: 'series', type: 'nominal', title: 'case' },
      },
    } as TopLevelSpec,
  };
}

/** The wait-strategy trade-off: consumer CPU against p99, coloured by wait strategy. */
/**
 * One point per case, p99 on a log axis against `x`: the shape both "what did this tail cost or
 * come from" charts share.
 */
interface P99Scatter {
  id: string;
  title: string;
  caption: string;
  rows: Record<string, unknown>[];
  x: { field: string; title: string; format: string };
  /** The row fields points are coloured and shaped by. */
  color: string;
  shape: string;
}

function p99Scatter({ id, title, caption, rows, x, color, shape }: P99Scatter): ChartSpec {
  return {
    id,
    title,
    caption,
    spec: {
      ...frame(rows),
      mark: { type: 'point', filled: true, size: 80 },
      encoding: {
        x: { field: x.field, type: 'quantitative', title: x.title },
        y: { field: 'p99Us', type: 'quantitative', scale: { type: 'log' }, title: 'p99 (µs)' },
        color: { field: color, type: 'nominal', title: color },
        shape: { field: shape, type: 'nominal', title: shape },
        tooltip: [{ field: 'case' }, { field: 'workload' }, { field: x.field, format: x.format }, { field: 'p99Us', format: '.3~f' }],
      },
    } as TopLevelSpec,
  };
}

function cpuVsLatencyChart(cases: OkCase[]): ChartSpec | undefined {
  const rows = cases
    .filter((c) => c.summary.cpu?.consumerPct !== undefined && c.summary.latencyNs?.p99 !== undefined && c.workload !== 'throughput')
    .map((c) => ({
      backend: c.backend,
      wait: c.params.wait,
      workload: c.workload,
      case: label(c),
      cpu: c.summary.cpu!.consumerPct!,
      p99Us: c.summary.latencyNs!.p99! / 1000,
    }));
  if (distinct(rows.map((r) => r.wait)).length < 2) return undefined;
  return p99Scatter({
    id: 'cpu-vs-p99',
    title: 'Consumer CPU against p99, by wait strategy',
    caption:
      'Each point is a case (rate and ping-pong workloads). A spinning consumer holds a core at ~100% for the lowest latency; parking and blocking save CPU and pay the wake-up. CPU from /proc/thread-self/schedstat over the window, in % of one core.',
    rows,
    x: { field: 'cpu', title: 'consumer CPU (% of one core)', format: '.1f' },
    color: 'wait',
    shape: 'backend',
  });
}

/**
 * p99 against the worst measured thread's run delay: a tail that rises with run delay is the
 * scheduler's; one high at a low run delay is the queue's (or the harness's).
 */
function p99VsRunDelayChart(cases: OkCase[]): ChartSpec | undefined {
  const rows = cases.flatMap((c) => {
    const s = c.summary;
    const sched = s.scheduling;
    if (!sched || 'unavailable' in sched || s.latencyNs?.p99 === undefined) return [];
    return [
      {
        backend: c.backend,
        wait: c.params.wait,
        workload: c.workload,
        case: label(c),
        runDelayPct: Math.max(sched.producerRunDelayPct, sched.consumerRunDelayPct),
        p99Us: s.latencyNs.p99 / 1000,
      },
    ];
  });
  if (rows.length < 2) return undefined;
  return p99Scatter({
    id: 'p99-vs-run-delay',
    title: 'p99 against run delay, by backend and wait strategy',
    caption: `Each point is a case. Run delay: the share of the window the worst measured thread spent runnable but waiting for a CPU (/proc/thread-self/schedstat). Tails that climb with run delay were made by the scheduler, not the queue; at ${SCHEDULER_BOUND_PCT}% and above a missed latency SLO is flagged SCHEDULER-BOUND.`,
    rows,
    x: { field: 'runDelayPct', title: 'worst thread run delay (% of window)', format: '.2f' },
    color: 'backend',
    shape: 'wait',
  });
}

/** Throughput as producers grow, one line per backend and wait strategy (needs two counts). */
function producersChart(cases: OkCase[]): ChartSpec | undefined {
  const rows = cases
    .filter((c) => c.workload === 'throughput' && c.summary.msgsPerSec !== undefined)
    .map((c) => ({
      series: `${c.backend} ${c.params.wait}${durabilityTag(c.params)} p=${c.params.payload} b=${c.params.batch}`,
      producers: c.params.producers,
      msgsPerSec: c.summary.msgsPerSec!,
      oversubscribed: c.oversubscribed,
    }));
  if (distinct(rows.map((r) => r.producers)).length < 2) return undefined;
  return {
    id: 'producers',
    title: 'Throughput as producers grow',
    caption: 'Closed loop. Hollow points ran more busy threads than the machine has cores (oversubscribed): they measure the scheduler as much as the queue.',
    spec: {
      ...frame(rows),
      layer: [
        {
          mark: 'line',
          encoding: {
            x: { field: 'producers', type: 'ordinal' },
            y: { field: 'msgsPerSec', type: 'quantitative', scale: { type: 'log' }, title: 'messages per second' },
            color: { field: 'series', type: 'nominal', title: 'case' },
          },
        },
        {
          mark: { type: 'point', size: 60 },
          encoding: {
            x: { field: 'producers', type: 'ordinal', title: 'producers' },
            y: { field: 'msgsPerSec', type: 'quantitative' },
            color: { field: 'series', type: 'nominal' },
            fill: { condition: { test: 'datum.oversubscribed', value: 'white' }, field: 'series', type: 'nominal', legend: null },
          },
        },
      ],
    } as TopLevelSpec,
  };
}

/**
 * Every broker on one plane: a point per case, throughput across, p99 up (both log), so the
 * brokers that are fast and the ones that are quick sit where they can be compared. Backends with
 * a server (`environment.servers[…].backend`), and
 * postMessage beside them as the no-network floor.
 */
/** The backend's id without the run it came from (buildCharts adds " (run k)" for two runs of one scenario). */
function baseBackend(c: CaseResult): string {
  return c.backend.replace(/ \(run \d+\)$/, '');
}

function brokersChart(results: ResultFile[], cases: OkCase[]): ChartSpec | undefined {
  // Older files name the backend only in the key (`<id>` or `<id>/durability=…`).
  const withServers = new Set(results.flatMap((r) => Object.entries(r.environment.servers ?? {}).map(([key, s]) => s.backend ?? backendOfServerKey(key))));
  if (withServers.size === 0) return undefined;
  const rows = cases
    .filter(
      (c) =>
        (withServers.has(baseBackend(c)) || baseBackend(c) === 'post-message') && c.summary.msgsPerSec !== undefined && c.summary.latencyNs?.p99 !== undefined,
    )
    .map((c) => ({
      backend: `${c.backend}${durabilityTag(c.params)}`,
      workload: c.workload,
      case: `${label(c)} ${c.workload}${c.params.subscribers !== undefined ? ` s=${c.params.subscribers}` : ''}${c.params.members !== undefined ? ` m=${c.params.members}` : ''}`,
      msgsPerSec: c.summary.msgsPerSec!,
      p99Us: c.summary.latencyNs!.p99! / 1000,
    }));
  if (distinct(rows.map((r) => r.backend)).length < 2) return undefined;
  const chart = p99Scatter({
    id: 'brokers-throughput-vs-p99',
    title: 'Brokers: throughput against p99',
    caption:
      "Each point is a case (median over trials) of a backend with a server, and of postMessage between two threads for reference: further right is more messages per second, lower is a shorter tail. Closed-loop workloads (throughput, fan-out, groups) trade latency for throughput, so compare a workload with itself; rate points are at the offered rate, with latency from the intended send time. A server's CPU and memory are in the table beside the clients'.",
    rows,
    x: { field: 'msgsPerSec', title: 'messages per second', format: '~s' },
    color: 'backend',
    shape: 'workload',
  });
  const encoding = (chart.spec as { encoding: { x: Record<string, unknown> } }).encoding;
  encoding.x = { ...encoding.x, scale: { type: 'log' }, axis: { format: '~s' } };
  return chart;
}

/**
 * Every trial of the cases whose throughput depends on where the host had the cores: one point
 * per trial, coloured near or far, so the two modes a median would blend show as two clusters.
 */
function placementChart(cases: OkCase[]): ChartSpec | undefined {
  const rows = cases.flatMap((c) => {
    const trials = c.trials.filter((t) => t.status === 'ok' && t.msgsPerSec !== undefined && t.msgsPerSec > 0);
    const placed = trials.map((t) => ({ value: t.msgsPerSec!, placement: placementOf(t.coreRoundTripNs) }));
    if (!placementModes(placed)) return [];
    return trials.map((t, i) => ({
      case: `${label(c)} ${c.workload}`,
      placement: placed[i].placement,
      msgsPerSec: t.msgsPerSec!,
      roundTripNs: t.coreRoundTripNs === undefined ? null : Math.round(t.coreRoundTripNs),
      trial: t.trial + 1,
    }));
  });
  if (rows.length === 0) return undefined;
  return {
    id: 'placement',
    title: 'Throughput by placement of the cores',
    caption: `Each point is one trial of a case whose throughput differs by where the host had the two cores (near: core-to-core round trip under ${NEAR_BELOW_NS} ns, measured before the trial; far: at or over it). A median over both would describe neither mode; compare matches trials of like placement. Log scale.`,
    spec: {
      ...frame(rows),
      mark: { type: 'point', filled: true, size: 70, opacity: 0.8 },
      encoding: {
        x: { field: 'case', type: 'nominal', title: null, axis: { labelAngle: -40, labelLimit: 220 } },
        y: { field: 'msgsPerSec', type: 'quantitative', scale: { type: 'log' }, title: 'messages per second', axis: { format: '~s' } },
        color: { field: 'placement', type: 'nominal', title: 'cores', scale: { domain: ['near', 'far', 'unknown'] } },
        shape: { field: 'placement', type: 'nominal', title: 'cores' },
        tooltip: [
          { field: 'case' },
          { field: 'trial' },
          { field: 'placement' },
          { field: 'roundTripNs', title: 'core round trip (ns)' },
          { field: 'msgsPerSec', format: '.3s' },
        ],
      },
    } as TopLevelSpec,
  };
}

export function buildCharts(results: ResultFile[]): ChartSpec[] {
  // Two runs of one scenario: each run's cases are their own series ("(run k)"), as the
  // table's run column numbers them, instead of one line joining both runs' points.
  const cases = runLabels(results) ? results.flatMap((r, k) => okCases([r]).map((c) => ({ ...c, backend: `${c.backend} (run ${k + 1})` }))) : okCases(results);
  const charts = [
    throughputChart(cases),
    placementChart(cases),
    spectrumChart(cases, 'ping-pong'),
    spectrumChart(cases, 'rate'),
    spectrumChart(cases, 'throughput'),
    latencyVsRateChart(cases),
    cpuVsLatencyChart(cases),
    p99VsRunDelayChart(cases),
    producersChart(cases),
    brokersChart(results, cases),
  ];
  return charts.filter((c): c is ChartSpec => c !== undefined);
}
