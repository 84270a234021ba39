/** The comparison as table rows and notes, shared by the CLI, both report formats and the notebooks. */
import { formatCount, formatDuration } from '../../wire/units.js';
import { type Comparison, type MetricComparison, MIN_PLACED_TRIALS } from './compare.js';

export const COMPARISON_COLUMNS = ['case', 'metric', 'baseline', 'candidate', 'ratio [95% CI]', 'verdict'];

export interface ComparisonRow {
  slower: boolean;
  cells: string[];
  /** The verdict in at most 19 characters, for the narrow table (the p, q and trials are in the wide one). */
  shortVerdict: string;
}

/** The trials compared, and where: "far 10+15". */
function trialsCompared(m: MetricComparison): string {
  const where = m.placement === undefined || m.placement === 'unknown' ? '' : `${m.placement} `;
  return `${where}${m.trials[0]}+${m.trials[1]} trials`;
}

function verdicts(m: MetricComparison): [wide: string, short: string] {
  if (m.verdict === 'inconclusive')
    return m.inconclusiveWhy === 'placement'
      ? ['inconclusive (placements differ)', 'placements differ']
      : [`inconclusive (${Math.min(...m.trials)} trials)`, `too few (${Math.min(...m.trials)} trials)`];
  if (m.unconfirmed !== undefined)
    return [
      `${m.unconfirmed}? unconfirmed (p=${m.pValue!.toFixed(3)} alone, q=${m.qValue!.toFixed(2)} among all, ${trialsCompared(m)})`,
      `${m.unconfirmed}? unconfirmed`,
    ];
  if (m.pValue === undefined) return [m.verdict, m.verdict];
  const q = m.qValue !== undefined && m.verdict !== 'no significant change' ? `, q=${m.qValue.toFixed(3)}` : '';
  const p = `p=${m.pValue < 0.001 ? m.pValue.toExponential(0) : m.pValue.toFixed(3)}`;
  const wide = `${m.verdict} (${p}${q}, ${trialsCompared(m)})`;
  if (m.verdict === 'no significant change') return [wide, 'not significant'];
  return [wide, `${m.verdict} (${p})`];
}

export function comparisonRows(c: Comparison): ComparisonRow[] {
  return c.cases.flatMap((k) =>
    k.metrics.map((m) => {
      const fmt = m.metric === 'p99' ? formatDuration : formatCount;
      const interval = m.ratioCi95 ? ` [${m.ratioCi95[0].toFixed(3)}–${m.ratioCi95[1].toFixed(3)}]` : '';
      const [verdict, shortVerdict] = verdicts(m);
      return {
        slower: m.verdict === 'slower',
        cells: [k.id, m.metric === 'p99' ? 'p99' : 'msg/s', fmt(m.baseline), fmt(m.candidate), `${m.ratio.toFixed(3)}${interval}`, verdict],
        shortVerdict,
      };
    }),
  );
}

/** How the verdicts were reached, in a paragraph (both report formats). */
export function comparisonMethod(c: Comparison): string {
  return `Ratio = candidate / baseline (medians over the trials both sides ran on one placement of the cores, near or far: like with like; 95% bootstrap interval for reading). A change counts when Yuen's trimmed t-test (Welch's test on means without each side's highest and lowest tenth) on the logs of those trials rejects "no change" at 2.5% one-sided, the ratio lies beyond ${c.thresholdPct}%, and the figure is a discovery among all ${c.tested ?? 0} tested (Benjamini–Hochberg, false discovery rate 5%); with fewer than ${MIN_PLACED_TRIALS} ok trials a side on a shared placement there is no verdict (inconclusive). A case ok in the baseline but failed, skipped or missing here is a regression. ${c.regressions} regression(s), ${c.improvements} improvement(s), ${c.inconclusive ?? 0} inconclusive, ${c.unconfirmed ?? 0} unconfirmed.`;
}

/** Cases on one side only, and cases that ran on both sides but could not be compared. */
export function comparisonNotes(c: Comparison): string[] {
  return [
    ...(c.warnings ?? []).map((w) => `WARNING: ${w}`),
    ...(c.lostCases ?? []).map((l) => `REGRESSION: ${l.id} was ok in the baseline, ${l.reason}`),
    ...(c.mismatched ?? []).map((m) => `not compared, configuration differs: ${m.id} (${m.differences.join(', ')})`),
    ...(c.unconfirmed > 0
      ? [
          `${c.unconfirmed} figure(s) changed beyond ${c.thresholdPct}% with p < 0.025 on their own, but are not discoveries among the ${c.tested} figures tested (Benjamini–Hochberg, false discovery rate 5%): noise of that size is expected somewhere in ${c.tested} tests. To confirm or clear them, give those cases more trials: run --confirm-against does (docs/method.md)`,
        ]
      : []),
    ...(c.inconclusive > 0
      ? [
          `${c.inconclusive} figure(s) inconclusive: a verdict needs at least ${MIN_PLACED_TRIALS} ok trials on each side on one placement of the cores both sides share (near or far, trials[].coreRoundTripNs); run with more trials, or with --confirm-against`,
        ]
      : []),
    ...c.onlyInBaseline.filter((id) => !(c.lostCases ?? []).some((l) => l.id === id)).map((id) => `only in baseline: ${id}`),
    ...c.onlyInCandidate.map((id) => `only in candidate: ${id}`),
    ...c.notCompared.map((n) => `not compared: ${n.id} (${n.reason})`),
  ];
}
