/**
 * The one line `nanomq compare` ends with: the gate's verdict and its worst (or best) figure,
 * so a CI log says in one line what the table says in many. Exit codes stay the compare
 * command's: 4 on a regression, 0 otherwise.
 */
import type { Comparison, MetricComparison } from './compare.js';

/** How much worse the candidate is on this figure (>1: worse): msg/s falls, p99 rises. */
function slowdown(m: MetricComparison): number {
  return m.metric === 'msgsPerSec' ? 1 / m.ratio : m.ratio;
}

function describe(id: string, m: MetricComparison): string {
  const pct = (m.ratio - 1) * 100;
  return `${id} ${m.metric === 'msgsPerSec' ? 'msg/s' : 'p99'} ${m.ratio.toFixed(3)}× (${pct >= 0 ? '+' : '−'}${Math.abs(pct).toFixed(1)}%)`;
}

function extreme(c: Comparison, verdict: 'slower' | 'faster'): string | undefined {
  let best: { id: string; m: MetricComparison } | undefined;
  for (const k of c.cases)
    for (const m of k.metrics) {
      if (m.verdict !== verdict) continue;
      const worse = verdict === 'slower' ? slowdown(m) : 1 / slowdown(m);
      if (best === undefined || worse > (verdict === 'slower' ? slowdown(best.m) : 1 / slowdown(best.m))) best = { id: k.id, m };
    }
  return best && describe(best.id, best.m);
}

export function verdictLine(c: Comparison): string {
  const unconfirmed =
    c.unconfirmed > 0 ? `; ${c.unconfirmed} unconfirmed (beyond ${c.thresholdPct}% alone, not among the family's discoveries: rerun with more trials)` : '';
  if (c.regressions > 0) {
    const slower = c.regressions - c.lostCases.length;
    const worst = extreme(c, 'slower');
    const lost = c.lostCases.length > 0 ? `${c.lostCases.length} lost case(s) (first: ${c.lostCases[0].id}, ${c.lostCases[0].reason})` : '';
    return `verdict: REGRESSION: ${[slower > 0 ? `${slower} figure(s) slower beyond ${c.thresholdPct}%${worst ? `, worst ${worst}` : ''}` : '', lost].filter(Boolean).join('; ')}${unconfirmed} (exit 4)`;
  }
  if (c.tested === 0) {
    const why =
      c.inconclusive > 0
        ? `no figure had enough trials on both sides (${c.inconclusive} inconclusive)`
        : 'no case could be compared (see the notes above: configurations differ, or cases failed or were skipped)';
    return `verdict: NOTHING JUDGED: ${why}; exit 0 here says nothing about the change`;
  }
  const best = extreme(c, 'faster');
  const improved = c.improvements > 0 ? `; ${c.improvements} improvement(s)${best ? `, best ${best}` : ''}` : '';
  const open = [
    c.inconclusive > 0 ? `; ${c.inconclusive} figure(s) not judged (too few trials on a placement both sides share)` : '',
    c.mismatched.length > 0 ? `; ${c.mismatched.length} case(s) not compared (configuration differs)` : '',
    c.notCompared.length > 0 ? `; ${c.notCompared.length} case(s) not compared (failed or skipped on both sides)` : '',
  ].join('');
  return `verdict: no significant regression beyond ${c.thresholdPct}% among ${c.tested} figure(s) tested${improved}${unconfirmed}${open}`;
}
