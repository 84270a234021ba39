/**
 * The per-case table both report formats show: every case, with its figures, delivery verdict,
 * SLO verdicts and flags; failed, skipped and oversubscribed cases shown as such, never dropped.
 */

import { formatBytes, formatCount, formatCpuPerMillion, formatDuration } from '../../wire/units.js';
import { attributionCell, caseFlags, deliveryVerdict, flagText, SLO_FLAGS } from '../results/case-verdicts.js';
import { diskShareFor, diskShareNote } from '../results/disk-share.js';
import { MIN_TAIL_SAMPLES, RATE_SHORTFALL_LIMIT_PCT, SCHEDULER_BOUND_PCT, SLEEP_FROM_NS, TIMESTAMP_EVERY } from '../results/method.js';
import { ceilingFor, ceilingNote } from '../results/server-ceiling.js';
import type { CaseResult, DiskSync, LatencyFloor, NetworkFloor, ResultFile, ServerCeiling } from '../results/types.js';

export const CASE_COLUMNS = [
  'case',
  'status',
  'msg/s [95% CI]',
  'p50',
  'p99',
  'p99.9',
  'max',
  'run delay prod/cons, GC',
  'CPU prod/cons (process)',
  'peak RSS (start, +growth)',
  'delivery',
  'SLO',
  'notes',
];

/**
 * Which run each result is, when a report holds a case more than once (two runs of one
 * scenario, say): `<scenario> <started at>`, shown in a first column, so two rows of one case
 * say where each came from. Undefined when every case appears once (no column is needed).
 */
export function runLabels(results: readonly ResultFile[]): string[] | undefined {
  const ids = results.flatMap((r) => r.cases.map((c) => c.id));
  if (new Set(ids).size === ids.length) return undefined;
  // "run k" is what the charts call it (charts.ts), so a chart's series can be found in the table.
  return results.map((r, k) => `run ${k + 1}: ${r.scenario.name} ${r.environment.startedAt.replace(/\.\d+Z$/, 'Z')}`);
}

/** Every result's cases as table rows, with the run column where runLabels asks for one. */
export function allCaseRows(results: readonly ResultFile[]): { columns: string[]; rows: (CaseRow & { case: CaseResult })[] } {
  const labels = runLabels(results);
  const rows = results.flatMap((r, k) =>
    r.cases.map((c) => {
      const row = caseRow(c, r.environment.latencyFloor, r.environment.networkFloor, r.environment.serverCeilings, r.environment.diskSync);
      return { ...row, cells: labels ? [labels[k], ...row.cells] : row.cells, case: c };
    }),
  );
  return { columns: labels ? ['run', ...CASE_COLUMNS] : CASE_COLUMNS, rows };
}

export interface CaseRow {
  status: CaseResult['status'];
  oversubscribed: boolean;
  cells: string[];
}

function sloCell(c: CaseResult): string {
  const slo = c.summary?.slo;
  if (!slo || Object.keys(slo).length === 0) return '';
  return Object.entries(slo)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

/**
 * One row. A rate case's notes set its tail beside the latency floor measured in the same run
 * (`floor`: environment.latencyFloor), so a reader sees how much of it the machine explains.
 */
export function caseRow(c: CaseResult, floor?: LatencyFloor, networkFloor?: NetworkFloor, ceilings?: readonly ServerCeiling[], disk?: DiskSync): CaseRow {
  const s = c.summary;
  const lat = (v: number | undefined) => (v === undefined ? '–' : formatDuration(v));
  const ci = s?.msgsPerSecCi95 ? ` [${formatCount(s.msgsPerSecCi95[0])}–${formatCount(s.msgsPerSecCi95[1])}]` : '';
  let cpu =
    s?.cpu?.producerPct !== undefined && s.cpu.consumerPct !== undefined
      ? `${s.cpu.producerPct.toFixed(0)}% / ${s.cpu.consumerPct.toFixed(0)}%${s.cpu.processPct !== undefined ? ` (process ${s.cpu.processPct.toFixed(0)}%)` : ''}`
      : '–';
  const m = s?.memory;
  let rss = m
    ? `${formatBytes(m.rssBytes)}${m.rssAtStartBytes ? ` (start ${formatBytes(m.rssAtStartBytes)}, +${formatBytes(Math.max(0, m.rssBytes - m.rssAtStartBytes))})` : ''}`
    : '–';
  // A network backend's server is beside its clients: its CPU and peak RSS are the broker's own cost.
  const server = s?.server;
  if (server?.cpuPct !== undefined) {
    const perMessage =
      server.cpuSecondsPerMillionMessages !== undefined ? `, ${formatCpuPerMillion(server.cpuSecondsPerMillionMessages)} per million deliveries` : '';
    cpu += `; server ${server.cpuPct.toFixed(0)}%${perMessage} (run delay ${(server.runDelayPct ?? 0).toFixed(1)}%)`;
  }
  if (server?.peakRssBytes !== undefined) rss += `; server ${formatBytes(server.peakRssBytes)}`;
  const notes = [
    ...caseFlags(c)
      .filter((f) => !SLO_FLAGS.has(f.code))
      .map(flagText),
    ...(c.status !== 'ok' && c.reason ? [c.reason] : []),
    ...(s?.latencyNs?.warnings ?? []),
  ];
  if (networkFloor && c.workload === 'ping-pong' && s?.latencyNs?.p50 !== undefined && s.server !== undefined) {
    notes.push(`round trip p50 ${(s.latencyNs.p50 / networkFloor.p50).toFixed(2)}× bare TCP's in the same topology (${formatDuration(networkFloor.p50)})`);
  }
  const ceiling = ceilingFor(c, ceilings);
  if (ceiling && s?.msgsPerSec !== undefined) notes.push(ceilingNote(s.msgsPerSec, ceiling));
  const share = diskShareFor(c, disk);
  if (share) notes.push(diskShareNote(share));
  if (floor && c.workload === 'rate' && s?.latencyNs?.p99 !== undefined) {
    notes.push(`p99 ${(s.latencyNs.p99 / floor.p99).toFixed(1)}× the machine's floor (${formatDuration(floor.p99)} at ${formatCount(floor.ratePerSec)}/s)`);
  }
  return {
    status: c.status,
    oversubscribed: c.oversubscribed && c.status !== 'skipped',
    cells: [
      c.id,
      c.status,
      s?.msgsPerSec !== undefined ? `${formatCount(s.msgsPerSec)}${ci}` : '–',
      lat(s?.latencyNs?.p50),
      lat(s?.latencyNs?.p99),
      lat(s?.latencyNs?.p999),
      lat(s?.latencyNs?.max),
      attributionCell(c),
      cpu,
      rss,
      c.status === 'skipped' ? '–' : deliveryVerdict(c),
      sloCell(c),
      notes.join('; '),
    ],
  };
}

export function environmentLines(r: ResultFile): [string, string][] {
  const e = r.environment;
  const lines: [string, string][] = [
    ['machine', `${e.cpuModel}, ${e.cores} cores, ${formatBytes(e.memoryBytes)}`],
    ['software', `Node ${e.node}, V8 ${e.v8}, ${e.os}`],
    ['commit', e.gitCommit ?? 'unknown (not a git checkout)'],
    ['run', `${e.startedAt} → ${e.finishedAt ?? '?'}`],
    ['clock', `${e.clock.source ?? 'process.hrtime'}: resolution ${formatDuration(e.clock.resolutionNs)}, ${e.clock.overheadNs.toFixed(0)} ns a read`],
  ];
  if (e.machineBefore) {
    const m = e.machineBefore;
    lines.push([
      'machine before the suite',
      `${m.cpuBusyPct.toFixed(1)}% of all cores busy in the second before, load average ${m.loadAverage.map((l) => l.toFixed(2)).join(' / ')}, ${formatBytes(m.freeMemoryBytes)} free`,
    ]);
  }
  if (e.latencyFloor) {
    const f = e.latencyFloor;
    lines.push([
      'latency floor',
      `p50 ${formatDuration(f.p50)}, p99 ${formatDuration(f.p99)}, p99.9 ${formatDuration(f.p999)} at ${formatCount(f.ratePerSec)} msg/s (${f.method})`,
    ]);
  }
  if (e.networkFloor) {
    const f = e.networkFloor;
    lines.push([
      'network floor',
      `round trip p50 ${formatDuration(f.p50)}, p90 ${formatDuration(f.p90)}, p99 ${formatDuration(f.p99)} over ${f.roundTrips} round trips (${f.method})`,
    ]);
  }
  for (const c of e.serverCeilings ?? []) {
    lines.push([`server ceiling (reference), ${c.payload} B`, `${c.server}: ${formatCount(c.msgsPerSec)} msg/s (${c.method})`]);
  }
  if (e.diskSync) {
    const d = e.diskSync;
    lines.push([
      'disk (write-ahead log)',
      `fdatasync p50 ${formatDuration(d.fdatasyncNs.p50)}, p99 ${formatDuration(d.fdatasyncNs.p99)}, max ${formatDuration(d.fdatasyncNs.max)}; sequential writes ${formatBytes(d.sequentialWriteBytesPerSec)}/s to the page cache, ${formatBytes(d.sequentialSyncedBytesPerSec)}/s synced (${d.method}; a virtual disk may acknowledge an fdatasync before the data is stable)`,
    ]);
  }
  if (e.harnessOverhead)
    lines.push([
      'harness overhead',
      `${e.harnessOverhead.perMessageNs.toFixed(0)} ns a message at batch 1, ${e.harnessOverhead.perMessageBatchedNs.toFixed(0)} ns at batch 256 (null backend, one thread)`,
    ]);
  if (e.boundary) {
    const b = e.boundary;
    lines.push([
      'N-API boundary',
      b.napiPushPopNs !== undefined
        ? `push+pop ${b.napiPushPopNs.toFixed(0)} ns through N-API vs ${b.jsPushPopNs.toFixed(0)} ns in JavaScript (+${(b.boundaryNs ?? b.napiPushPopNs - b.jsPushPopNs).toFixed(0)} ns a message)`
        : (b.note ?? 'not measured'),
    ]);
  }
  const s = r.scenario;
  lines.push([
    'scenario',
    `${s.name}${s.file ? ` (${s.file})` : ''}: window ${formatDuration(s.duration)}, warm-up ${formatDuration(s.warmup)}, ${s.trials} trial(s)${s.fork === 'process' ? ' each in a fresh process' : ''}, verify ${s.verify}, queue ${formatBytes(s.capacity)}${s.pin ? ', threads pinned' : ''}`,
  ]);
  return lines;
}

/** What each workload measures and how: the method section of both formats. */
export const METHOD: [string, string][] = [
  [
    'throughput',
    `Closed loop: producers write as fast as the queue accepts; msg/s is the messages the consumer took inside the window the coordinator defined (MEASURE to STOP on the shared clock). One message in ${TIMESTAMP_EVERY} carries a timestamp, so latency here is the time spent in a saturated queue.`,
  ],
  [
    'ping-pong',
    'One client sends a message (or a burst of `batch`) and waits for the echo from a server thread through a second queue; every round trip is timed. msg/s counts round trips.',
  ],
  [
    'rate',
    `Open loop at a fixed rate (wrk2-style): messages are due 1/rate apart from the start, whatever happened before, and latency is measured from the intended send time, so a stall shows in the percentiles instead of hiding (coordinated omission). Messages due in the window but unsent at its end count at least end − intended late; messages intended in the window that arrive after it are recorded. Latency from the actual send time and the send lag are recorded beside it. The producer sleeps through gaps over ${formatDuration(SLEEP_FROM_NS)}. A case more than ${RATE_SHORTFALL_LIMIT_PCT}% short of its rate is flagged; its tail is set beside the latency floor, a bare ring measured in the same run.`,
  ],
  [
    'delivery',
    'Every message is checked on arrival: producer id, per-producer sequence (lost, duplicated, reordered), length, a sequence stamp in the payload, and the CRC32 with verify: crc. A case with any delivery error fails, whatever its speed.',
  ],
  [
    'latency',
    `CLOCK_MONOTONIC (one clock for all threads, read without allocating through the addon), recorded in HdrHistogram (3 significant digits) per thread and merged. A batch is stamped just before its publish, so a batched message's latency is its time in the queue plus the receiver's walk to it. Histograms record during warm-up too and are reset as the window opens. Every window edge runs code warm-up already ran, measured threads keep V8's type feedback from their first call, and closed-loop warm-up fills the queue once, so nothing is compiled or deoptimised inside the window (checked under --trace-deopt by the test suite). A percentile is reported only when at least ${MIN_TAIL_SAMPLES} samples lie beyond it (p99 needs ${formatCount(MIN_TAIL_SAMPLES / 0.01)} samples, p99.9 ${formatCount(MIN_TAIL_SAMPLES / 0.001)}).`,
  ],
  [
    'why tails',
    `Per measured thread at the window edges: run delay (runnable, waiting for a CPU: /proc/thread-self/schedstat field 2) in % of the window, context switches, and the garbage collections inside the window. A latency SLO missed with a run delay ≥ ${SCHEDULER_BOUND_PCT}% is flagged SCHEDULER-BOUND; cases whose busy threads equal the cores NO-HEADROOM.`,
  ],
  [
    'CPU',
    'Per thread from /proc/thread-self/schedstat at the window edges, in % of one core (producers summed); the process from process.cpuUsage beside it, the machine from os.cpus(), over the same window. The cpu SLO judges the consumer thread: the side whose wait strategy trades CPU for latency.',
  ],
  [
    'memory',
    "Peak resident set size over the window from the kernel's high-water mark (VmHWM, reset at the window's start), beside RSS at the trial's start and the difference; V8 heap of all threads at the end of the window; shared memory the queues allocated.",
  ],
  [
    'trials',
    'Each trial has fresh queues and fresh worker threads (fork: process: a fresh Node process). Summaries are medians over trials; 95% intervals are percentile bootstraps over trials (none with a single trial).',
  ],
];
