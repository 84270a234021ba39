/**
 * The tslab notebooks, executed headless as `nanomq report --notebook` runs them. tslab can
 * swallow a failing cell's error and leave later cells blank, so the check looks at every cell.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executedNotebookProblems, notebookSupport, runNotebooks } from '../harness/report/notebooks.js';
import { tempDir } from './support/cli.js';
import { synthCase, synthResult } from './support/synthetic-result.js';

describe('executed-notebook check', () => {
  const ok = {
    cells: [
      { cell_type: 'code', outputs: [{ output_type: 'stream', text: 'x' }] },
      { cell_type: 'code', outputs: [{ output_type: 'stream', text: ['NOTEBOOK-COMPLETE demo\n'] }] },
    ],
  };

  it('passes a notebook whose every cell produced output and that reached its end', () => {
    expect(executedNotebookProblems(ok, 'demo')).toEqual([]);
  });

  it('fails an error output, a blank cell after a silent failure, or a missing end marker', () => {
    const failed = { cells: [{ cell_type: 'code', outputs: [{ output_type: 'error', ename: 'Error', evalue: 'boom' }] }, ok.cells[1]] };
    expect(executedNotebookProblems(failed, 'demo')).toEqual(['demo: code cell 1 failed: Error boom']);
    const blank = { cells: [ok.cells[0], { cell_type: 'code', outputs: [] }] };
    expect(executedNotebookProblems(blank, 'demo')).toEqual(['demo: code cell 2 produced no output', 'demo: did not reach its last cell']);
  });
});

const support = notebookSupport();
describe.runIf(support.ok || process.env.CI)('notebooks executed headless', () => {
  it('has Jupyter and the tslab kernel (in CI they must be there)', () => {
    expect(support).toEqual({ ok: true });
  });

  it('runs explore and compare on a result file, every cell with output, into HTML', () => {
    const dir = tempDir();
    const result = join(dir, 'r.json');
    writeFileSync(result, JSON.stringify(synthResult([synthCase('sab-spsc/throughput/payload=0/producers=1/batch=1/wait=spin', [1e6, 1.1e6])])));
    const written = runNotebooks(join(dir, 'out'), [result], result);
    expect(written.map((p) => p.split('/').at(-1))).toEqual(['explore.html', 'compare.html']);
    const explore = JSON.parse(readFileSync(join(dir, 'out', 'explore.ipynb'), 'utf8'));
    expect(executedNotebookProblems(explore, 'explore')).toEqual([]);
    const html = readFileSync(join(dir, 'out', 'explore.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('sab-spsc/throughput/payload=0/producers=1/batch=1/wait=spin');
    expect(existsSync(join(dir, 'out', 'compare.html'))).toBe(true);
  }, 180_000);

  it('fails, naming the notebook, when a cell fails', () => {
    const dir = tempDir();
    expect(() => runNotebooks(join(dir, 'out'), [join(dir, 'missing.json')])).toThrow(/notebook explore|jupyter nbconvert failed/);
  }, 180_000);
});
