/** The comparison as table rows and notes, shared by the CLI, both report formats and the notebooks. */
import { formatCount, formatDuration } from '../../wire/units.js';
import type { Comparison } from './compare.js';

export const COMPARISON_COLUMNS = ['case', 'metric', 'baseline', 'candidate', 'ratio [95% CI]', 'verdict'];

export interface ComparisonRow {
  slower: boolean;
  cells: string[];
}

export function comparisonRows(c: Comparison): ComparisonRow[] {
  return c.cases.flatMap((k) =>
    k.metrics.map((m) => {
      const fmt = m.metric === 'p99' ? formatDuration : formatCount;
      const interval = m.ratioCi95 ? ` [${m.ratioCi95[0].toFixed(3)}–${m.ratioCi95[1].toFixed(3)}]` : '';
      const verdict =
        m.verdict === 'inconclusive'
          ? `inconclusive (${Math.min(...m.trials)} trials)`
          : m.unconfirmed !== undefined
            ? `${m.unconfirmed}? unconfirmed (p=${m.pValue!.toFixed(3)} alone, q=${m.qValue!.toFixed(2)} among all)`
            : m.pValue !== undefined
              ? `${m.verdict} (p=${m.pValue.toFixed(3)}${m.qValue !== undefined && m.verdict !== 'no significant change' ? `, q=${m.qValue.toFixed(3)}` : ''})`
              : m.verdict;
      return {
        slower: m.verdict === 'slower',
        cells: [k.id, m.metric === 'p99' ? 'p99' : 'msg/s', fmt(m.baseline), fmt(m.candidate), `${m.ratio.toFixed(3)}${interval}`, verdict],
      };
    }),
  );
}

/** Cases on one side only, and cases that ran on both sides but could not be compared. */
export function comparisonNotes(c: Comparison): string[] {
  return [
    ...(c.warnings ?? []).map((w) => `WARNING: ${w}`),
    ...(c.lostCases ?? []).map((l) => `REGRESSION: ${l.id} was ok in the baseline, ${l.reason}`),
    ...(c.mismatched ?? []).map((m) => `not compared, configuration differs: ${m.id} (${m.differences.join(', ')})`),
    ...(c.unconfirmed > 0
      ? [
          `${c.unconfirmed} figure(s) changed beyond ${c.thresholdPct}% with p < 0.025 on their own, but are not discoveries among the ${c.tested} figures tested (Benjamini–Hochberg, false discovery rate 5%): noise of that size is expected somewhere in ${c.tested} tests. To confirm or clear them, re-run those cases with more trials (with 5 a side the smallest p is 0.004)`,
        ]
      : []),
    ...(c.inconclusive > 0 ? [`${c.inconclusive} figure(s) inconclusive: a verdict needs at least 5 ok trials on each side (run with --trials 5)`] : []),
    ...c.onlyInBaseline.filter((id) => !(c.lostCases ?? []).some((l) => l.id === id)).map((id) => `only in baseline: ${id}`),
    ...c.onlyInCandidate.map((id) => `only in candidate: ${id}`),
    ...c.notCompared.map((n) => `not compared: ${n.id} (${n.reason})`),
  ];
}
