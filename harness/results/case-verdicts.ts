/**
 * One-line verdicts about a case, shared by the terminal table and the reports: did every
 * message arrive, and which warnings (oversubscribed, noisy, below rate, SLO) apply.
 */
import { formatCount } from '../units.js';
import { type CaseResult, OTHER_LOAD_LIMIT_PCT } from './types.js';

export function deliveryVerdict(c: CaseResult): string {
  const k = c.summary?.correctness;
  if (!k) return '-';
  const bad = k.lost + k.duplicated + k.reordered + k.corrupt;
  if (bad === 0) return `ok (${formatCount(k.received)})`;
  const parts = (['lost', 'duplicated', 'reordered', 'corrupt'] as const).filter((p) => k[p] > 0).map((p) => `${k[p]} ${p}`);
  return `FAIL ${parts.join(', ')}`;
}

export function caseFlags(c: CaseResult): string[] {
  const flags: string[] = [];
  if (c.oversubscribed && c.status !== 'skipped') flags.push('OVERSUBSCRIBED');
  if (c.noHeadroom && c.status !== 'skipped') flags.push('NO-HEADROOM');
  const other = c.summary?.cpu?.otherPct;
  if (other !== undefined && other > OTHER_LOAD_LIMIT_PCT) flags.push(`NOISY other programs used ${other.toFixed(0)}% of a core`);
  if (c.summary?.rate?.belowTarget) flags.push(`BELOW-RATE ${c.summary.rate.shortfallPct.toFixed(1)}%`);
  const slo = c.summary?.slo ?? {};
  const missed = Object.entries(slo)
    .filter(([, v]) => v === 'fail')
    .map(([k]) => k);
  if (missed.length > 0) flags.push(`SLO-MISS ${missed.join(',')}`);
  if (c.summary?.schedulerBound) flags.push('SCHEDULER-BOUND');
  else if (Object.keys(slo).length > 0) flags.push('SLO-ok');
  if (c.pinned === false) flags.push('UNPINNED');
  return flags;
}

/**
 * Why a tail may be long, in one cell: the worst measured thread's run delay (% of the window it
 * waited for a CPU) and the garbage collections inside the window. "–" where not measured.
 */
export function attributionCell(c: CaseResult): string {
  const s = c.summary;
  const parts: string[] = [];
  const sched = s?.scheduling;
  if (sched && !('unavailable' in sched)) parts.push(`delay ${sched.producerRunDelayPct.toFixed(1)}%/${sched.consumerRunDelayPct.toFixed(1)}%`);
  if (s?.gc) parts.push(`gc ${s.gc.count}`);
  return parts.length > 0 ? parts.join(', ') : '–';
}
