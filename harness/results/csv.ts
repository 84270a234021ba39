/**
 * Result files as CSV, for spreadsheets, pandas and R: one row per case (medians over trials,
 * as the tables show them) or, with `trials`, one row per trial. Raw units in the column names
 * (ns, bytes, per second, % of one core), numbers unformatted, empty where a figure is absent,
 * never a zero that was not measured. RFC 4180 quoting by hand: one rule, not worth a library.
 */
import { caseFlags, deliveryVerdict, flagText } from './case-verdicts.js';
import type { CaseResult, Figures, ResultFile } from './types.js';

type Cell = string | number | boolean | undefined;

function quote(cell: Cell): string {
  if (cell === undefined) return '';
  const text = String(cell);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const line = (cells: Cell[]) => cells.map(quote).join(',');

const CASE_COLUMNS = [
  'scenario',
  'started_at',
  'case',
  'backend',
  'workload',
  'payload_bytes',
  'producers',
  'batch',
  'wait',
  'durability',
  'rate_per_s',
  'subscribers',
  'members',
  'status',
  'reason',
  'oversubscribed',
];
const FIGURE_COLUMNS = [
  'msgs_per_s',
  'bytes_per_s',
  'p50_ns',
  'p90_ns',
  'p99_ns',
  'p999_ns',
  'max_ns',
  'latency_samples',
  'producer_cpu_pct',
  'consumer_cpu_pct',
  'process_cpu_pct',
  'rss_bytes',
  'gc_count',
  'gc_pause_ns',
  'server_cpu_pct',
  'server_cpu_s_per_million_msgs',
  'server_peak_rss_bytes',
  'lost',
  'duplicated',
  'reordered',
  'corrupt',
];

function caseCells(r: ResultFile, c: CaseResult): Cell[] {
  const p = c.params;
  return [
    r.scenario.name,
    r.environment.startedAt,
    c.id,
    c.backend,
    c.workload,
    p.payload,
    p.producers,
    p.batch,
    p.wait,
    p.durability,
    p.rate,
    p.subscribers,
    p.members,
    c.status,
    c.reason,
    c.oversubscribed,
  ];
}

function figureCells(f: Figures | undefined): Cell[] {
  const l = f?.latencyNs;
  const k = f?.correctness;
  return [
    f?.msgsPerSec,
    f?.bytesPerSec,
    l?.p50,
    l?.p90,
    l?.p99,
    l?.p999,
    l?.max,
    l?.count,
    f?.cpu?.producerPct,
    f?.cpu?.consumerPct,
    f?.cpu?.processPct,
    f?.memory?.rssBytes,
    f?.gc?.count,
    f?.gc?.pauseNs,
    f?.server?.cpuPct,
    f?.server?.cpuSecondsPerMillionMessages,
    f?.server?.peakRssBytes,
    k?.lost,
    k?.duplicated,
    k?.reordered,
    k?.corrupt,
  ];
}

/** One row per case: the summary over its trials, its intervals, its delivery verdict and flags. */
export function casesCsv(results: readonly ResultFile[]): string {
  const header = [
    ...CASE_COLUMNS,
    'trials',
    ...FIGURE_COLUMNS,
    'msgs_per_s_ci95_low',
    'msgs_per_s_ci95_high',
    'p99_ci95_low_ns',
    'p99_ci95_high_ns',
    'delivery',
    'flags',
  ];
  const rows = results.flatMap((r) =>
    r.cases.map((c) => {
      const s = c.summary;
      return line([
        ...caseCells(r, c),
        s?.trials ?? c.trials.length,
        ...figureCells(s),
        s?.msgsPerSecCi95?.[0],
        s?.msgsPerSecCi95?.[1],
        s?.p99Ci95?.[0],
        s?.p99Ci95?.[1],
        c.status === 'skipped' ? undefined : deliveryVerdict(c),
        caseFlags(c).map(flagText).join(' '),
      ]);
    }),
  );
  return `${[line(header), ...rows].join('\r\n')}\r\n`;
}

/** One row per trial: what each trial measured, for analyses of the spread. */
export function trialsCsv(results: readonly ResultFile[]): string {
  const header = [...CASE_COLUMNS, 'trial', 'trial_status', 'trial_reason', 'core_round_trip_ns', ...FIGURE_COLUMNS];
  const rows = results.flatMap((r) =>
    r.cases.flatMap((c) => c.trials.map((t) => line([...caseCells(r, c), t.trial, t.status, t.reason, t.coreRoundTripNs, ...figureCells(t)]))),
  );
  return `${[line(header), ...rows].join('\r\n')}\r\n`;
}
