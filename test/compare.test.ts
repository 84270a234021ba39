/** compare: verdicts on synthetic results, and the CLI's exit codes on real files. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareResults } from '../harness/compare/compare.js';
import { nanomq, tempDir } from './support/cli.js';
import { synthCase, synthResult } from './support/synthetic-result.js';

const ID = 'sab-spsc/throughput/payload=0/producers=1/batch=1/wait=spin';

describe('compare verdicts', () => {
  it('identical results: no significant change', () => {
    const r = synthResult([synthCase(ID, [100, 102, 98, 101, 99])]);
    const c = compareResults(r, r);
    expect(c.cases[0].metrics.map((m) => m.verdict)).toEqual(['no significant change', 'no significant change']);
    expect(c.regressions).toBe(0);
  });

  it('20% slower with tight intervals: a regression', () => {
    const base = synthResult([synthCase(ID, [100, 101, 99, 100, 102])]);
    const cand = synthResult([synthCase(ID, [80, 81, 79, 80, 80])]);
    const c = compareResults(base, cand, 5);
    const m = c.cases[0].metrics.find((x) => x.metric === 'msgsPerSec')!;
    expect(m.verdict).toBe('slower');
    expect(m.ratio).toBeCloseTo(0.8, 2);
    expect(m.ratioCi95![1]).toBeLessThan(0.95);
    expect(c.regressions).toBe(1);
  });

  it('overlapping noisy trials: no significant change, even with a lower median', () => {
    const base = synthResult([synthCase(ID, [100, 60, 140, 90, 120])]);
    const cand = synthResult([synthCase(ID, [92, 55, 135, 80, 125])]);
    const m = compareResults(base, cand, 5).cases[0].metrics.find((x) => x.metric === 'msgsPerSec')!;
    expect(m.ratio).toBeLessThan(1);
    expect(m.verdict).toBe('no significant change');
  });

  it('p99 counts the other way: higher latency is slower', () => {
    const base = synthResult([synthCase(ID, [100, 100, 100, 100, 100], [1000, 1010, 990, 1005, 995])]);
    const cand = synthResult([synthCase(ID, [100, 100, 100, 100, 100], [2000, 2020, 1980, 2010, 1990])]);
    expect(compareResults(base, cand).cases[0].metrics.find((x) => x.metric === 'p99')!.verdict).toBe('slower');
  });

  it('lists cases present on one side only', () => {
    const base = synthResult([synthCase(ID, [1, 1]), synthCase('mutex/throughput/x', [1, 1])]);
    const cand = synthResult([synthCase(ID, [1, 1]), synthCase('mpsc-cas/throughput/y', [1, 1])]);
    const c = compareResults(base, cand);
    expect(c.onlyInBaseline).toEqual(['mutex/throughput/x']);
    expect(c.onlyInCandidate).toEqual(['mpsc-cas/throughput/y']);
  });
});

describe('nanomq compare', () => {
  const dir = tempDir();
  const write = (name: string, value: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
    return path;
  };
  const five = [1e6, 1.02e6, 0.98e6, 1.01e6, 0.99e6];
  const base = write('base.json', synthResult([synthCase(ID, five)]));
  const halved = write(
    'half.json',
    synthResult([
      synthCase(
        ID,
        five.map((v) => v * 0.5),
      ),
    ]),
  );

  it('exits 0 for a file against itself', () => {
    const r = nanomq(['compare', base, base]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ not significant\n/);
    expect(nanomq(['compare', base, base, '--wide']).stdout).toMatch(/no significant change \(p=/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('verdict: no significant regression beyond 5% among 2 figure(s) tested');
  });

  it('exits 4 for a candidate with halved throughput, and says so', () => {
    const r = nanomq(['compare', base, halved]);
    expect(r.status).toBe(4);
    expect(r.stdout).toMatch(/SLOWER/);
    // The last line is the headline: the verdict and the worst figure, with the exit code.
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(`^verdict: REGRESSION: 1 figure\\(s\\) slower beyond 5%, worst ${ID.replace(/[/.=]/g, '\\$&')} msg/s 0\\.500× \\(−50\\.0%\\) \\(exit 4\\)$`),
    );
    const json = nanomq(['compare', base, halved, '--json']);
    expect(JSON.parse(json.stdout).regressions).toBe(1);
  });

  it('exits 2 for an unreadable file, another schema, or a bad threshold', () => {
    expect(nanomq(['compare', base, join(dir, 'missing.json')]).status).toBe(2);
    const other = write('other.json', { schema: 'something/2' });
    const r = nanomq(['compare', base, other]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/other.json: schema is "something\/2"/);
    expect(nanomq(['compare', base, base, '--threshold', 'lots']).status).toBe(2);
  });

  it('refuses --threshold 0.05 (a fraction where a percentage is meant), and takes 0.05% written so', () => {
    const r = nanomq(['compare', base, base, '--threshold', '0.05']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--threshold 0.05: a percentage \(5 means 5%\); for 5% write 5, for 0.05% write 0.05%/);
    expect(nanomq(['compare', base, base, '--threshold', '0.05%']).status).toBe(0);
  });

  it('refuses runs of two scenarios that share no case, instead of calling every case lost', () => {
    const other = write('other-scenario.json', synthResult([synthCase('broker/throughput/x', five)], 'broker'));
    const r = nanomq(['compare', base, other]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/is a run of scenario synthetic, .* of broker, and they share no case: nothing to compare/);
    expect(r.stdout).not.toMatch(/REGRESSION/);
  });

  it('says so when nothing was judged (one trial a side)', () => {
    const one = write('one.json', synthResult([synthCase(ID, [1e6])]));
    const r = nanomq(['compare', one, one]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/nothing was judged: no figure had enough trials on both sides/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^verdict: NOTHING JUDGED: .*exit 0 here says nothing about the change$/);
  });
});

describe('a compare gate that neither cries wolf nor hides a regression', () => {
  /** Trials with multiplicative noise of `sd` (normal, Box-Muller), seeded. */
  function noisy(random: () => number, mean: number, sd: number, n = 5): number[] {
    return Array.from({ length: n }, () => {
      const g = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      return mean * (1 + sd * g);
    });
  }

  it('with 8% noise and 5 trials a side: ≤ 5% false SLOWER for no change, ≥ 80% detection of a 20% regression', async () => {
    const { seededRandom } = await import('../harness/metrics/stats.js');
    const random = seededRandom(2026);
    const runs = 300;
    let falseSlower = 0;
    let detected = 0;
    for (let i = 0; i < runs; i++) {
      const base = synthResult([synthCase(ID, noisy(random, 1e6, 0.08))]);
      const same = synthResult([synthCase(ID, noisy(random, 1e6, 0.08))]);
      const worse = synthResult([synthCase(ID, noisy(random, 0.8e6, 0.08))]);
      if (compareResults(base, same, 5).cases[0].metrics[0].verdict === 'slower') falseSlower++;
      if (compareResults(base, worse, 5).cases[0].metrics[0].verdict === 'slower') detected++;
    }
    expect(falseSlower / runs).toBeLessThanOrEqual(0.05);
    expect(detected / runs).toBeGreaterThanOrEqual(0.8);
  });

  it('holds a whole suite to the family: same code exits 0, ×0.7 everywhere is found, one regressed case is listed unconfirmed', async () => {
    const { seededRandom } = await import('../harness/metrics/stats.js');
    const random = seededRandom(7);
    const CASES = 112;
    const suite = (scale: (k: number) => number) =>
      synthResult(
        Array.from({ length: CASES }, (_, k) => synthCase(`sab-spsc/throughput/case-${k}`, noisy(random, 1e6 * scale(k), 0.08), noisy(random, 1e4, 0.08))),
      );
    const runs = 100;
    let falseGate = 0;
    let lonelyRegressionListed = 0;
    let unconfirmedWithoutChange = 0;
    for (let i = 0; i < runs; i++) {
      const base = suite(() => 1);
      const same = compareResults(
        base,
        suite(() => 1),
        5,
        { intervals: false },
      );
      if (same.regressions > 0) falseGate++;
      unconfirmedWithoutChange += same.unconfirmed;
      const one = compareResults(
        base,
        suite((k) => (k === 0 ? 0.8 : 1)),
        5,
        { intervals: false },
      );
      const first = one.cases[0].metrics[0];
      if (first.verdict === 'slower' || first.unconfirmed === 'slower') lonelyRegressionListed++;
    }
    // Per figure at 2.5% one-sided, ~5 of the 224 would be "significant" in every run.
    expect(falseGate / runs).toBeLessThanOrEqual(0.05);
    expect(unconfirmedWithoutChange / runs).toBeGreaterThan(1);
    // One regressed case among 112 is not a discovery at 5 trials, but it is never hidden.
    expect(lonelyRegressionListed / runs).toBeGreaterThanOrEqual(0.8);
    const everywhere = compareResults(
      suite(() => 1),
      suite(() => 0.7),
      5,
      { intervals: false },
    );
    expect(everywhere.cases.every((c) => c.metrics[0].verdict === 'slower')).toBe(true);
    expect(everywhere.regressions).toBe(CASES);
  });

  it('gives no verdict below 3 trials a side: inconclusive, not a regression', () => {
    const base = synthResult([synthCase(ID, [100, 101])]);
    const cand = synthResult([synthCase(ID, [50, 51])]);
    const c = compareResults(base, cand, 5);
    expect(c.cases[0].metrics.map((m) => m.verdict)).toEqual(['inconclusive', 'inconclusive']);
    expect(c.cases[0].metrics[0].inconclusiveWhy).toBe('trials');
    expect(c.regressions).toBe(0);
    expect(c.inconclusive).toBe(2);
  });

  it('counts a case ok in the baseline but failed, skipped or missing in the candidate as a regression', () => {
    const ok = (id: string) => synthCase(id, [1, 1, 1, 1, 1]);
    const base = synthResult([ok(ID), ok('mutex/throughput/a'), ok('mpsc-cas/throughput/b')]);
    const cand = synthResult([
      { ...ok(ID), status: 'failed', reason: 'delivery errors: 3 lost' },
      { ...ok('mutex/throughput/a'), status: 'skipped', reason: 'backend unavailable' },
    ]);
    const c = compareResults(base, cand, 5);
    expect(c.lostCases.map((l) => l.id).sort()).toEqual([ID, 'mpsc-cas/throughput/b', 'mutex/throughput/a'].sort());
    expect(c.regressions).toBe(3);
  });

  it('compares only cases whose whole configuration agrees, and lists the others', () => {
    const base = synthResult([synthCase(ID, [1, 1, 1, 1, 1])]);
    const cand = synthResult([synthCase(ID, [0.5, 0.5, 0.5, 0.5, 0.5])]);
    cand.scenario = { ...cand.scenario, capacity: 1 << 16, verify: 'crc' };
    const c = compareResults(base, cand, 5);
    expect(c.cases).toEqual([]);
    expect(c.mismatched[0].differences).toEqual(['capacity 1048576 → 65536', 'verify "sequence" → "crc"']);
    expect(c.regressions).toBe(0);
  });

  it('warns when the two results come from different machines or Node versions', () => {
    const base = synthResult([synthCase(ID, [1, 1, 1, 1, 1])]);
    const cand = synthResult([synthCase(ID, [1, 1, 1, 1, 1])]);
    cand.environment = { ...cand.environment, cpuModel: 'other', cores: 64, node: '22.0.0' };
    expect(compareResults(base, cand, 5).warnings).toEqual([
      'different machines: test (2 cores) → other (64 cores); ratios mix the machine and the code',
      'different Node.js: 20.0.0 → 22.0.0',
    ]);
  });

  it('warns when the two sides ran on differently placed cores, and only then', () => {
    const placed = (ns: number[]) => {
      const r = synthResult([synthCase(ID, [1, 1, 1, 1, 1])]);
      for (const [i, t] of r.cases[0].trials.entries()) t.coreRoundTripNs = ns[i];
      return r;
    };
    const near = placed([130, 135, 128, 140, 132]);
    expect(compareResults(near, placed([131, 129, 138, 133, 136]), 5).warnings).toEqual([]);
    const warnings = compareResults(near, placed([350, 340, 360, 130, 345]), 5).warnings;
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/placed differently: median core-to-core round trip 132 ns in the baseline, 345 ns in the candidate/);
    expect(warnings[1]).toMatch(/^1 case\(s\) ran on differently placed cores/);
    // An older baseline without placements: said, since the ratios may mix the two.
    expect(compareResults(synthResult([synthCase(ID, [1, 1, 1, 1, 1])]), near, 5).warnings[0]).toMatch(/only the candidate recorded/);
  });

  it('CLI: A against A exits 0; 1-trial runs are inconclusive and exit 0; ×0.7 in every trial exits 4; a failed case exits 4', () => {
    const dir = tempDir();
    const write = (name: string, value: unknown) => {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify(value));
      return path;
    };
    const five = [1e6, 1.03e6, 0.97e6, 1.01e6, 0.99e6];
    const a = write('a.json', synthResult([synthCase(ID, five)]));
    expect(nanomq(['compare', a, a]).status).toBe(0);
    const one = write('one.json', synthResult([synthCase(ID, [1e6])]));
    const oneSlow = write('one-slow.json', synthResult([synthCase(ID, [0.5e6])]));
    const r1 = nanomq(['compare', one, oneSlow]);
    expect(r1.status).toBe(0);
    expect(r1.stdout).toMatch(/too few \(1 trials\)/);
    const slow = write(
      'slow.json',
      synthResult([
        synthCase(
          ID,
          five.map((v) => v * 0.7),
        ),
      ]),
    );
    const r2 = nanomq(['compare', a, slow]);
    expect(r2.status).toBe(4);
    expect(r2.stdout).toMatch(/SLOWER/);
    const failed = write('failed.json', synthResult([{ ...synthCase(ID, five), status: 'failed', reason: 'trial 2: timed out' }]));
    const r3 = nanomq(['compare', a, failed]);
    expect(r3.status).toBe(4);
    expect(r3.stdout).toMatch(/REGRESSION: .* was ok in the baseline, failed in the candidate: trial 2: timed out/);
  });
});
