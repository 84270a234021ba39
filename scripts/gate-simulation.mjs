#!/usr/bin/env node
// The compare gate's false-alarm rate and power, simulated from real runs (issue 28; the method
// is in harness/compare/gate-simulation.ts, the figures in docs/method.md).
//
//   node scripts/gate-simulation.mjs extract OUT.json RESULT.json...   keep real runs small (no histograms)
//   node scripts/gate-simulation.mjs [NOISE.json | RESULT.json...] [--comparisons N]
//        [--baseline-trials N] [--candidate-trials N] [--follow-up N] [--follow-up-cases N] [--threshold PCT]
//
// Default input: results/baselines/gate-noise.json (runs of the quick suite of one commit on
// this project's 2-core VM). Needs the build (npm run build).
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const sim = await import('../dist/harness/compare/gate-simulation.js');
const { readResultFile } = await import('../dist/harness/results/read-result.js');

const [command, ...rest] = process.argv.slice(2);
if (command === 'extract') {
  // --per-run K: a result of more trials (a 10-trial baseline, run in rounds) is cut into runs
  // of K consecutive rounds each: minutes apart, as separate runs are. Follow-up trials are left
  // out (they are a gate's, not a run's).
  const { values: opts, positionals: args } = parseArgs({ args: rest, allowPositionals: true, options: { 'per-run': { type: 'string', default: '5' } } });
  const [out, ...files] = args;
  if (!out || files.length < 1) {
    process.stderr.write('usage: gate-simulation.mjs extract [--per-run K] OUT.json RESULT.json...\n');
    process.exit(2);
  }
  const perRun = Number(opts['per-run']);
  const runs = files.flatMap((f) => {
    const r = readResultFile(f);
    const rounds = Math.max(...r.cases.map((c) => c.trials.filter((t) => !t.followUp).length));
    return Array.from({ length: Math.ceil(rounds / perRun) }, (_, k) => {
      const part = {
        ...r,
        scenario: { ...r.scenario, trials: perRun },
        cases: r.cases.map((c) => ({ ...c, trials: c.trials.filter((t) => !t.followUp && t.trial >= k * perRun && t.trial < (k + 1) * perRun) })),
      };
      return sim.toNoiseRun(rounds > perRun ? `${f} rounds ${k * perRun + 1}-${(k + 1) * perRun}` : f, part);
    });
  });
  writeFileSync(out, `${JSON.stringify({ schema: 'nanomq.gate-noise/1', runs })}\n`, { flag: 'wx' });
  process.stdout.write(`${out}: ${runs.length} runs, ${runs[0].cases.length} cases each\n`);
  process.exit(0);
}

const { values, positionals } = parseArgs({
  args: command === undefined ? [] : [command, ...rest],
  allowPositionals: true,
  options: {
    comparisons: { type: 'string', default: '400' },
    'baseline-trials': { type: 'string' },
    'candidate-trials': { type: 'string' },
    'follow-up': { type: 'string' },
    'follow-up-cases': { type: 'string' },
    threshold: { type: 'string' },
  },
});
const inputs = positionals.length > 0 ? positionals : ['results/baselines/gate-noise.json'];
const runs = inputs.flatMap((f) => {
  const json = JSON.parse(readFileSync(f, 'utf8'));
  return json.schema === 'nanomq.gate-noise/1' ? json.runs.map(sim.fromNoiseRun) : [readResultFile(f)];
});
const number = (v, fallback) => (v === undefined ? fallback : Number(v));
const settings = {
  baselineTrials: number(values['baseline-trials'], sim.RECOMMENDED.baselineTrials),
  candidateTrials: number(values['candidate-trials'], sim.RECOMMENDED.candidateTrials),
  followUpTrials: number(values['follow-up'], sim.RECOMMENDED.followUpTrials),
  followUpCases: number(values['follow-up-cases'], sim.RECOMMENDED.followUpCases),
  thresholdPct: number(values.threshold, sim.RECOMMENDED.thresholdPct),
};
const n = Number(values.comparisons);
process.stdout.write(
  `${runs.length} real runs, ${sim.sharedCases(runs).length} cases; ${n} simulated comparisons each; baseline ${settings.baselineTrials} trials, candidate ${settings.candidateTrials}, follow-up ${settings.followUpTrials} trials for up to ${settings.followUpCases} cases, threshold ${settings.thresholdPct}%\n`,
);
const pct = (x) => (x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
for (const [name, effect] of [
  ['unchanged', undefined],
  ['one case msg/s × 0.67', { metric: 'msgsPerSec', factor: 0.67 }],
  ['one case msg/s × 0.5', { metric: 'msgsPerSec', factor: 0.5 }],
  ['one case p99 × 1.5', { metric: 'p99', factor: 1.5 }],
]) {
  const r = sim.gateRates(runs, n, settings, effect);
  if (!effect)
    process.stdout.write(
      `${r.castings} distinct castings of the runs as baseline / candidate / follow-ups${r.followUpsReuseCandidate ? " (too few runs: follow-ups drawn from the candidate's own run, which repeats its trials: optimistic)" : ''}\n`,
    );
  const power = effect ? `; changed case found ${pct(r.foundShare)} (unimodal at its placement: ${pct(r.foundUnimodalShare)} of ${r.unimodalComparisons})` : '';
  process.stdout.write(
    `${name.padEnd(22)} gate failed (exit 4) ${pct(r.failedShare)}, could not answer (exit 5) ${pct(r.notJudgedShare)}${power}; follow-up trials ${r.meanFollowUpTrials.toFixed(1)} a comparison\n`,
  );
}
