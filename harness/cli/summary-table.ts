/**
 * The table `nanomq run` prints after each scenario: one row per case. By default it fits
 * TABLE_WIDTH columns: the parameters every case shares go on a line above the table, p99.9,
 * the server's figures and the flags' details are left to the wide form (`--wide`), and what
 * is still too long is cut with "…". The result file and the report have everything.
 */

import { formatBytes, formatCount, formatCpuPerMillion, formatDuration } from '../../wire/units.js';
import { attributionCell, caseFlags, deliveryVerdict, flagText } from '../results/case-verdicts.js';
import { diskShareFor, diskShareNote } from '../results/disk-share.js';
import { NEAR_BELOW_NS, placementNotes } from '../results/placement.js';
import { ceilingFor, ceilingRatio } from '../results/server-ceiling.js';
import type { CaseResult, ResultFile } from '../results/types.js';
import { compactCaseId } from './comparison-table.js';
import { renderTable, TABLE_WIDTH } from './table.js';

type Params = CaseResult['params'];

/** Each parameter as the table shows it, absent where the case does not have it. */
function paramParts(p: Params): [keyof Params, string | undefined][] {
  return [
    ['payload', `p=${p.payload}`],
    ['producers', `n=${p.producers}`],
    ['subscribers', p.subscribers !== undefined ? `s=${p.subscribers}` : p.members !== undefined ? `m=${p.members}` : undefined],
    ['batch', `b=${p.batch}`],
    ['wait', p.wait],
    ['durability', p.durability],
    ['rate', p.rate !== undefined ? `r=${formatCount(p.rate)}/s` : undefined],
    ['fault', p.fault],
  ];
}

function paramsLabel(c: CaseResult, shown: (key: keyof Params) => boolean): string {
  return paramParts(c.params)
    .filter(([key, text]) => text !== undefined && shown(key))
    .map(([, text]) => text)
    .join(' ');
}

/** The parameters with one value in every case: said once, above the table. */
function sharedParams(cases: readonly CaseResult[]): Map<keyof Params, string> {
  const shared = new Map<keyof Params, string>();
  if (cases.length === 0) return shared;
  const first = paramParts(cases[0].params);
  for (const [key, text] of first) {
    if (text !== undefined && cases.every((c) => paramParts(c.params).find(([k]) => k === key)?.[1] === text)) shared.set(key, text);
  }
  return shared;
}

/** Delivery in a few words: an at-least-once case's counts of duplicates and reorders are in --wide. */
function narrowDelivery(c: CaseResult, verdict: string): string {
  const k = c.summary?.correctness;
  return k && verdict.startsWith('ok at least once') ? `ok ≥1× (${formatCount(k.received)})` : verdict;
}

/** The run delay of producers/consumer and the collections in the window, in one short cell. */
function compactAttribution(c: CaseResult): string {
  const s = c.summary;
  const sched = s?.scheduling;
  const pct = (x: number) => x.toFixed(x >= 10 ? 0 : 1);
  const delay = sched && !('unavailable' in sched) ? `${pct(sched.producerRunDelayPct)}/${pct(sched.consumerRunDelayPct)}%` : '–';
  return s?.gc ? `${delay} gc${s.gc.count}` : delay;
}

export function summaryTable(result: ResultFile, wide = false): string {
  const shared = wide ? new Map<keyof Params, string>() : sharedParams(result.cases);
  // Narrow: NOISY's sentence is left to --wide; the short details (which SLO, how far below
  // rate) stay. A flag every case that ran carries is said once, above the table.
  const flagTexts = (c: CaseResult) => caseFlags(c).map((f) => (wide || f.code !== 'NOISY' ? flagText(f) : f.code));
  const ran = result.cases.filter((c) => c.status !== 'skipped');
  const sharedFlags = wide || ran.length === 0 ? new Set<string>() : new Set(flagTexts(ran[0]).filter((text) => ran.every((c) => flagTexts(c).includes(text))));
  const rows = result.cases.map((c) => {
    const s = c.summary;
    const ci = s?.msgsPerSecCi95 ? ` [${formatCount(s.msgsPerSecCi95[0])}–${formatCount(s.msgsPerSecCi95[1])}]` : '';
    const lat = (v: number | undefined) => (v === undefined ? '-' : formatDuration(v));
    const status = c.status === 'ok' ? 'ok' : c.status === 'skipped' ? 'skipped' : 'FAILED';
    const row = [
      c.backend,
      c.workload,
      paramsLabel(c, (key) => !shared.has(key)),
      status,
      s?.msgsPerSec !== undefined ? `${formatCount(s.msgsPerSec)}${ci}` : '-',
      lat(s?.latencyNs?.p50),
      lat(s?.latencyNs?.p99),
      lat(s?.latencyNs?.p999),
      c.status === 'skipped' ? '' : attributionCell(c),
      c.status === 'skipped' ? (c.reason ?? '') : deliveryVerdict(c),
      flagTexts(c)
        .filter((text) => !sharedFlags.has(text))
        .join(' '),
    ];
    return row;
  });
  const headers = ['backend', 'workload', 'params', 'status', 'msg/s [95% CI]', 'p50', 'p99', 'p999', 'run delay p/c, GC', 'delivery', 'flags'];
  // Network backends: the server's own CPU, peak RSS and run delay, beside the clients' figures.
  if (wide && result.cases.some((c) => c.summary?.server)) {
    headers.splice(9, 0, 'server cpu (per M deliveries), rss, delay');
    result.cases.forEach((c, i) => {
      const x = c.summary?.server;
      rows[i].splice(
        9,
        0,
        x?.cpuPct !== undefined
          ? `${x.cpuPct.toFixed(0)}%${x.cpuSecondsPerMillionMessages !== undefined ? ` (${formatCpuPerMillion(x.cpuSecondsPerMillionMessages)})` : ''}, ${x.peakRssBytes !== undefined ? formatBytes(x.peakRssBytes) : '?'}, ${(x.runDelayPct ?? 0).toFixed(1)}%`
          : '',
      );
    });
  }
  if (!wide) {
    // Narrow: no p99.9 column (it is in the result file and the report); the run delay and
    // GC count compact; the status folded into the delivery column (ok cases say "ok (N)").
    headers.splice(7, 1);
    for (const [i, r] of rows.entries()) {
      const c = result.cases[i];
      r.splice(7, 1);
      r[7] = c.status === 'skipped' ? '' : compactAttribution(c);
      // The reasons of failed and skipped cases are named below the table, whole.
      if (c.status === 'failed') r[8] = 'FAILED';
      else if (c.status === 'skipped') r[8] = 'skipped';
      else r[8] = narrowDelivery(c, r[8]);
      r.splice(3, 1);
    }
    headers.splice(3, 1);
    headers[6] = 'delay p/c, gc';
  }
  // Narrow: a column empty in every row (flags all said above the table, say) is left out.
  if (!wide)
    for (let i = headers.length - 1; i >= 0; i--) {
      if (rows.length > 0 && rows.every((r) => r[i] === '')) {
        headers.splice(i, 1);
        for (const r of rows) r.splice(i, 1);
      }
    }
  const rightAligned = new Set(headers.flatMap((h, i) => (['msg/s [95% CI]', 'p50', 'p99', 'p999'].includes(h) ? [i] : [])));
  const table = renderTable(headers, rows, rightAligned);
  const common = [...(shared.size > 0 ? [[...shared.values()].join(' ')] : []), ...(sharedFlags.size > 0 ? [`flagged ${[...sharedFlags].join(', ')}`] : [])];
  const above = common.length > 0 ? [`every case: ${common.join('; ')} (--wide for every column)`] : [];
  const notes = result.environment.warnings.map((w) => `warning: ${w}`);
  // A median of trials on two placements describes neither: each mode, with its count.
  const modes = placementNotes(result.cases, formatCount, formatDuration).map((l) => `  ${wide ? l : compactCaseId(l)}`);
  if (modes.length > 0)
    notes.unshift(
      `by placement of the cores (near < ${NEAR_BELOW_NS} ns core round trip ≤ far; docs/method.md):`,
      ...(wide ? modes : modes.flatMap((l) => wrapAt(l, TABLE_WIDTH))),
    );
  // The brokers' reference, and each one-publisher throughput as a fraction of it: printed, so
  // nobody works the ratio out by hand.
  const ceilings = result.environment.serverCeilings ?? [];
  if (ceilings.length > 0) {
    const held = result.cases.flatMap((c) => {
      const ceiling = ceilingFor(c, ceilings);
      return ceiling && c.summary?.msgsPerSec !== undefined
        ? [`  ${wide ? c.id : compactCaseId(c.id)}: ${formatCount(c.summary.msgsPerSec)} msg/s, ${ceilingRatio(c.summary.msgsPerSec, ceiling).toFixed(2)}×`]
        : [];
    });
    const line = `reference: the raw ceiling of ${ceilings[0]!.server}, one publisher to one subscriber, 256 a write, nothing verified: ${ceilings.map((c) => `${formatCount(c.msgsPerSec)} msg/s at payload ${c.payload} B`).join(', ')}`;
    notes.unshift(...(wide ? [line] : wrapAt(line, TABLE_WIDTH)), ...held);
  }
  // A log's bandwidth as a fraction of the disk under it, for the same reason.
  const disk = result.cases.flatMap((c) => {
    const share = diskShareFor(c, result.environment.diskSync);
    return share ? [`  ${wide ? c.id : compactCaseId(c.id)}: ${diskShareNote(share)}`] : [];
  });
  if (disk.length > 0)
    notes.unshift('disk: each wal throughput case beside the disk under its log', ...(wide ? disk : disk.flatMap((l) => wrapAt(l, TABLE_WIDTH))));
  const net = result.environment.networkFloor;
  if (net)
    notes.unshift(
      `network floor: bare TCP round trip in the broker's topology p50 ${formatDuration(net.p50)}, p99 ${formatDuration(net.p99)} (no broker, framing or checks)`,
    );
  const failed = result.cases.filter((c) => c.status === 'failed').map((c) => `failed: ${c.id}: ${c.reason}`);
  if (!wide) failed.push(...result.cases.filter((c) => c.status === 'skipped').map((c) => `skipped: ${c.id}: ${c.reason}`));
  return [...above, table, ...failed, ...notes].join('\n');
}

/** A note line cut at spaces to `width` columns, continued with a deeper indent. */
function wrapAt(line: string, width: number): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    const cut = rest.lastIndexOf(' ', width);
    if (cut <= 6) break;
    out.push(rest.slice(0, cut));
    rest = `      ${rest.slice(cut + 1)}`;
  }
  out.push(rest);
  return out;
}
