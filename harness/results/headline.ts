/**
 * The line `nanomq run` prints under each scenario's table, as hyperfine ends with "A ran 1.8×
 * faster than B": which backend won its main figure, in how many settings, and by how much.
 *
 * A setting is one combination of everything but the backend (workload, payload, producers,
 * batch, wait, …). In each setting with two or more backends that finished, the best backend
 * on the workload's main figure wins: the highest msg/s for closed-loop workloads, the lowest
 * p99 for ping-pong and rate (an open-loop rate fixes msg/s). The margin is the winner over the
 * runner-up; the median margin across the settings it won is printed with their range, and
 * how many of those wins the two 95% intervals separate. Below MIN_TRIALS trials a case (the
 * fewest a verdict takes) the leader is only "ahead", never "fastest", and the line says that
 * is no verdict; wins in a setting where either case was flagged (oversubscribed, noisy, below
 * its rate) are counted, and said to be.
 */
import { formatCount, formatDuration } from '../../wire/units.js';
import { MIN_TRIALS } from '../compare/compare.js';
import { median } from '../metrics/stats.js';
import { caseFlags } from './case-verdicts.js';
import { type CaseResult, isOkCase, type ResultFile } from './types.js';

interface MainFigure {
  label: string;
  /** The figure and its 95% interval, or undefined when the case has none. */
  of(c: CaseResult): { value: number; ci?: [number, number] } | undefined;
  higherIsBetter: boolean;
}

const THROUGHPUT: MainFigure = {
  label: 'msg/s',
  of: (c) => (c.summary?.msgsPerSec !== undefined ? { value: c.summary.msgsPerSec, ci: c.summary.msgsPerSecCi95 } : undefined),
  higherIsBetter: true,
};
const P99: MainFigure = {
  label: 'p99',
  of: (c) => (c.summary?.latencyNs?.p99 !== undefined ? { value: c.summary.latencyNs.p99, ci: c.summary.p99Ci95 } : undefined),
  higherIsBetter: false,
};

function mainFigure(workload: string): MainFigure {
  return workload === 'ping-pong' || workload === 'rate' ? P99 : THROUGHPUT;
}

/** The case's figures carry a warning that bears on a ranking. */
function flagged(c: CaseResult): boolean {
  return caseFlags(c).some((f) => f.code === 'OVERSUBSCRIBED' || f.code === 'NOISY' || f.code === 'BELOW-RATE');
}

const times = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)}×`;

/** One workload's part of the headline. */
function workloadPart(workload: string, cases: CaseResult[], trials: number): string | undefined {
  const figure = mainFigure(workload);
  const settings = new Map<string, { c: CaseResult; value: number; ci?: [number, number] }[]>();
  for (const c of cases) {
    const f = c.status === 'ok' ? figure.of(c) : undefined;
    if (f === undefined) continue;
    const setting = c.id.slice(c.backend.length);
    settings.set(setting, [...(settings.get(setting) ?? []), { c, ...f }]);
  }
  if (settings.size === 0) return undefined;
  const backends = new Set([...settings.values()].flat().map((e) => e.c.backend));
  const name = figure === P99 ? `${workload} p99` : workload;
  const shown = (v: number) => (figure === P99 ? formatDuration(v) : `${formatCount(v)} msg/s`);
  if (backends.size === 1) {
    // Nothing to rank: say the best the one backend did, and where.
    const all = [...settings.values()].flat();
    const best = all.reduce((a, b) => ((figure.higherIsBetter ? b.value > a.value : b.value < a.value) ? b : a));
    const p = best.c.params;
    return `${name}: ${best.c.backend} alone; best ${shown(best.value)} (payload ${p.payload}, batch ${p.batch}, ${p.producers} producer(s))`;
  }
  const wins = new Map<string, { margins: number[]; separated: number; flagged: number }>();
  let ranked = 0;
  for (const entries of settings.values()) {
    if (entries.length < 2) continue;
    ranked++;
    const sorted = [...entries].sort((a, b) => (figure.higherIsBetter ? b.value - a.value : a.value - b.value));
    const [first, second] = sorted;
    // A figure of 0 (nothing got through, or a clock that did not move) makes no ratio.
    if (first.value <= 0 || second.value <= 0) continue;
    const margin = figure.higherIsBetter ? first.value / second.value : second.value / first.value;
    const separated = first.ci !== undefined && second.ci !== undefined && (figure.higherIsBetter ? first.ci[0] > second.ci[1] : first.ci[1] < second.ci[0]);
    const w = wins.get(first.c.backend) ?? { margins: [], separated: 0, flagged: 0 };
    w.margins.push(margin);
    if (separated) w.separated++;
    if (flagged(first.c) || flagged(second.c)) w.flagged++;
    wins.set(first.c.backend, w);
  }
  if (ranked === 0 || wins.size === 0) return `${name}: no setting ran on two backends`;
  const [leader, w] = [...wins.entries()].sort((a, b) => b[1].margins.length - a[1].margins.length)[0];
  const verb = trials < MIN_TRIALS ? 'ahead' : figure.higherIsBetter ? 'fastest' : 'lowest';
  const m = median(w.margins);
  const range = w.margins.length > 1 ? ` (${times(Math.min(...w.margins))}–${times(Math.max(...w.margins))})` : '';
  const by = figure.higherIsBetter ? `${times(m)} the runner-up's msg/s` : `the runner-up's p99 ${times(m)} its own`;
  const tie = [...wins.values()].filter((x) => x.margins.length === w.margins.length).length > 1 ? ', tied for most wins' : '';
  const separated = trials >= 2 ? `, ${w.separated} of ${w.margins.length} separated by 95% intervals` : '';
  const flags = w.flagged > 0 ? `, ${w.flagged} in flagged settings (oversubscribed, noisy or below rate)` : '';
  const others = [...wins.entries()].filter(([b]) => b !== leader).map(([b, x]) => `${b} in ${x.margins.length}`);
  return `${name}: ${leader} ${verb} in ${w.margins.length} of ${ranked} setting(s)${tie}, median ${by}${range}${separated}${flags}${others.length > 0 ? ` (${others.join(', ')})` : ''}`;
}

/** The headline of one result: one line, parts per workload, or undefined when nothing finished. */
export function scenarioHeadline(result: ResultFile): string | undefined {
  const summarised = result.cases.filter(isOkCase);
  if (summarised.length === 0) return undefined;
  const trials = Math.min(...summarised.map((c) => c.summary.trials));
  const workloads = [...new Set(result.cases.map((c) => c.workload))];
  const parts = workloads
    .map((w) =>
      workloadPart(
        w,
        result.cases.filter((c) => c.workload === w),
        trials,
      ),
    )
    .filter((p) => p !== undefined);
  if (parts.length === 0) return undefined;
  // Said first, not last: below MIN_TRIALS the ranking is a preview, not a finding.
  const caveat = trials < MIN_TRIALS ? `${trials} trial(s) a case, no verdict (${MIN_TRIALS} or more for one): ` : '';
  return `${result.scenario.name}: ${caveat}${parts.join('; ')}`;
}
