/**
 * One-line verdicts about a case, shared by the terminal table and the reports: did every
 * message arrive, and which warnings (oversubscribed, noisy, below rate, SLO) apply.
 */
import { formatCount } from '../../wire/units.js';
import { OTHER_LOAD_LIMIT_PCT } from './method.js';
import type { CaseResult, Correctness } from './types.js';

/**
 * Messages whose delivery fails the case. With a group member killed (`fault: kill-member`),
 * at least once is the promise: batches it had not acknowledged come again, to other members
 * and out of order, so duplicates and reorders are reported, not failures; a loss or a corrupt
 * message still is one.
 */
export function deliveryFailures(k: Correctness, params: Pick<CaseResult['params'], 'fault'>): number {
  const atLeastOnce = params.fault === 'kill-member';
  return k.lost + k.corrupt + (atLeastOnce ? 0 : k.duplicated + k.reordered);
}

export function deliveryVerdict(c: CaseResult): string {
  const k = c.summary?.correctness;
  if (!k) return '-';
  const bad = k.lost + k.duplicated + k.reordered + k.corrupt;
  if (bad === 0) return `ok (${formatCount(k.received)})`;
  const parts = (['lost', 'duplicated', 'reordered', 'corrupt'] as const).filter((p) => k[p] > 0).map((p) => `${k[p]} ${p}`);
  if (deliveryFailures(k, c.params) === 0) return `ok at least once (${formatCount(k.received)}: ${parts.join(', ')})`;
  return `FAIL ${parts.join(', ')}`;
}

/** A warning about a case: a code to match on, and a detail for people. */
export interface CaseFlag {
  code: 'OVERSUBSCRIBED' | 'NO-HEADROOM' | 'NOISY' | 'BELOW-RATE' | 'SLO-MISS' | 'SCHEDULER-BOUND' | 'SLO-ok' | 'UNPINNED';
  detail?: string;
}

/** The flags that speak of SLOs (reports show SLOs in a column of their own). */
export const SLO_FLAGS: ReadonlySet<CaseFlag['code']> = new Set(['SLO-MISS', 'SLO-ok']);

export function caseFlags(c: CaseResult): CaseFlag[] {
  const flags: CaseFlag[] = [];
  if (c.oversubscribed && c.status !== 'skipped') flags.push({ code: 'OVERSUBSCRIBED' });
  if (c.noHeadroom && c.status !== 'skipped') flags.push({ code: 'NO-HEADROOM' });
  const other = c.summary?.cpu?.otherPct;
  if (other !== undefined && other > OTHER_LOAD_LIMIT_PCT) flags.push({ code: 'NOISY', detail: `other programs used ${other.toFixed(0)}% of a core` });
  if (c.summary?.rate?.belowTarget) flags.push({ code: 'BELOW-RATE', detail: `${c.summary.rate.shortfallPct.toFixed(1)}%` });
  const slo = c.summary?.slo ?? {};
  const missed = Object.entries(slo)
    .filter(([, v]) => v === 'fail')
    .map(([k]) => k);
  if (missed.length > 0) flags.push({ code: 'SLO-MISS', detail: missed.join(',') });
  if (c.summary?.schedulerBound) flags.push({ code: 'SCHEDULER-BOUND' });
  else if (Object.keys(slo).length > 0) flags.push({ code: 'SLO-ok' });
  if (c.pinned === false) flags.push({ code: 'UNPINNED' });
  return flags;
}

/** A flag as a table or report shows it: its code, then its detail. */
export function flagText(f: CaseFlag): string {
  return f.detail === undefined ? f.code : `${f.code} ${f.detail}`;
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
