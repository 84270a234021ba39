/** The table `nanomq run` prints after each scenario: one row per case. */

import { formatBytes, formatCount, formatDuration } from '../../wire/units.js';
import { attributionCell, caseFlags, deliveryVerdict, flagText } from '../results/case-verdicts.js';
import type { CaseResult, ResultFile } from '../results/types.js';
import { renderTable } from './table.js';

function paramsLabel(c: CaseResult): string {
  const p = c.params;
  const rate = p.rate !== undefined ? ` r=${formatCount(p.rate)}/s` : '';
  const readers = p.subscribers !== undefined ? ` s=${p.subscribers}` : p.members !== undefined ? ` m=${p.members}` : '';
  const fault = p.fault !== undefined ? ` ${p.fault}` : '';
  return `p=${p.payload} n=${p.producers}${readers} b=${p.batch} ${p.wait}${p.durability !== undefined ? ` ${p.durability}` : ''}${rate}${fault}`;
}

export function summaryTable(result: ResultFile): string {
  const rows = result.cases.map((c) => {
    const s = c.summary;
    const ci = s?.msgsPerSecCi95 ? ` [${formatCount(s.msgsPerSecCi95[0])}–${formatCount(s.msgsPerSecCi95[1])}]` : '';
    const lat = (v: number | undefined) => (v === undefined ? '-' : formatDuration(v));
    const status = c.status === 'ok' ? 'ok' : c.status === 'skipped' ? 'skipped' : 'FAILED';
    return [
      c.backend,
      c.workload,
      paramsLabel(c),
      status,
      s?.msgsPerSec !== undefined ? `${formatCount(s.msgsPerSec)}${ci}` : '-',
      lat(s?.latencyNs?.p50),
      lat(s?.latencyNs?.p99),
      lat(s?.latencyNs?.p999),
      c.status === 'skipped' ? '' : attributionCell(c),
      c.status === 'skipped' ? (c.reason ?? '') : deliveryVerdict(c),
      caseFlags(c).map(flagText).join(' '),
    ];
  });
  const headers = ['backend', 'workload', 'params', 'status', 'msg/s [95% CI]', 'p50', 'p99', 'p999', 'run delay p/c, GC', 'delivery', 'flags'];
  // Network backends: the server's own CPU, peak RSS and run delay, beside the clients' figures.
  if (result.cases.some((c) => c.summary?.server)) {
    headers.splice(9, 0, 'server cpu, rss, delay');
    result.cases.forEach((c, i) => {
      const x = c.summary?.server;
      rows[i].splice(
        9,
        0,
        x?.cpuPct !== undefined
          ? `${x.cpuPct.toFixed(0)}%, ${x.peakRssBytes !== undefined ? formatBytes(x.peakRssBytes) : '?'}, ${(x.runDelayPct ?? 0).toFixed(1)}%`
          : '',
      );
    });
  }
  const table = renderTable(headers, rows, new Set([4, 5, 6, 7]));
  const notes = result.environment.warnings.map((w) => `warning: ${w}`);
  const net = result.environment.networkFloor;
  if (net)
    notes.unshift(
      `network floor: bare TCP round trip in the broker's topology p50 ${formatDuration(net.p50)}, p99 ${formatDuration(net.p99)} (no broker, framing or checks)`,
    );
  const failed = result.cases.filter((c) => c.status === 'failed').map((c) => `failed: ${c.id}: ${c.reason}`);
  return [table, ...failed, ...notes].join('\n');
}
