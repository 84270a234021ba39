/**
 * Executes the tslab notebooks headless (jupyter nbconvert --execute) into a report folder.
 * Jupyter comes from Debian's packages and the tslab kernel is registered inside the project
 * (scripts/setup-notebooks.sh); without them, reports are still written and this says how to
 * enable notebooks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../implementations/package-root.js';
import { refuseLinks } from './write-report.js';

export const JUPYTER = '/usr/bin/jupyter';

export function jupyterPath(): string {
  return join(packageRoot(), '.jupyter');
}

export function notebookSupport(): { ok: true } | { ok: false; reason: string } {
  if (!existsSync(JUPYTER))
    return { ok: false, reason: `${JUPYTER} not found; run npm run setup:notebooks (installs Jupyter from Debian packages and registers the tslab kernel)` };
  if (!existsSync(join(jupyterPath(), 'share', 'jupyter', 'kernels', 'tslab', 'kernel.json'))) {
    return { ok: false, reason: 'tslab kernel not registered in .jupyter/; run npm run setup:notebooks' };
  }
  return { ok: true };
}

interface NotebookJson {
  cells: { cell_type: string; outputs?: { output_type: string; text?: string | string[]; ename?: string; evalue?: string }[] }[];
}

/**
 * What is wrong with an executed notebook, or an empty list. tslab can leave a failing cell's
 * error empty and the cells after it blank, so silence counts as failure: every code cell must
 * have produced output, none an error, and the last must print NOTEBOOK-COMPLETE.
 */
export function executedNotebookProblems(notebook: NotebookJson, name: string): string[] {
  const problems: string[] = [];
  const code = notebook.cells.filter((c) => c.cell_type === 'code');
  code.forEach((cell, i) => {
    const outputs = cell.outputs ?? [];
    if (outputs.length === 0) problems.push(`${name}: code cell ${i + 1} produced no output`);
    for (const o of outputs) if (o.output_type === 'error') problems.push(`${name}: code cell ${i + 1} failed: ${o.ename ?? ''} ${o.evalue ?? ''}`.trim());
  });
  const text = (code.at(-1)?.outputs ?? []).map((o) => (Array.isArray(o.text) ? o.text.join('') : (o.text ?? ''))).join('');
  if (!text.includes(`NOTEBOOK-COMPLETE ${name}`)) problems.push(`${name}: did not reach its last cell`);
  return problems;
}

function jupyter(args: string[], env: Record<string, string>, cwd: string): void {
  const r = spawnSync(JUPYTER, args, { cwd, env: { ...process.env, ...env, JUPYTER_PATH: join(jupyterPath(), 'share', 'jupyter') }, encoding: 'utf8' });
  if (r.status !== 0) {
    const log = (r.stderr || r.stdout).split('\n').filter((l) => !/Debugger warning|frozen modules|PYDEVD|Debugging will proceed/.test(l));
    throw new Error(`jupyter ${args[0]} failed (exit ${r.status}):\n${log.join('\n').slice(-3000)}`);
  }
}

/**
 * Executes explore.ipynb on the first result (and compare.ipynb when a baseline is given) into
 * `outDir`: the executed .ipynb, checked cell by cell, then its HTML. Throws on any failure.
 */
export function runNotebooks(outDir: string, resultPaths: string[], baselinePath?: string): string[] {
  const root = packageRoot();
  const out = resolve(outDir);
  mkdirSync(out, { recursive: true });
  const jobs: { name: string; env: Record<string, string> }[] = [{ name: 'explore', env: { NANOMQ_RESULT: resolve(resultPaths[0]) } }];
  if (baselinePath) jobs.push({ name: 'compare', env: { NANOMQ_BASELINE: resolve(baselinePath), NANOMQ_CANDIDATE: resolve(resultPaths[0]) } });
  // Jupyter writes where it is told, links followed: none may stand where it will write.
  refuseLinks(
    out,
    jobs.flatMap((job) => [`${job.name}.ipynb`, `${job.name}.html`]),
  );
  const written: string[] = [];
  for (const job of jobs) {
    const executed = join(out, `${job.name}.ipynb`);
    // Executed where the notebooks live, so their relative paths (esm-import.cjs, ../dist) hold.
    jupyter(
      ['nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=300', '--output', executed, join(root, 'notebooks', `${job.name}.ipynb`)],
      job.env,
      join(root, 'notebooks'),
    );
    const problems = executedNotebookProblems(JSON.parse(readFileSync(executed, 'utf8')) as NotebookJson, job.name);
    if (problems.length > 0) throw new Error(`notebook ${job.name}:\n${problems.join('\n')}`);
    jupyter(['nbconvert', '--to', 'html', '--template', 'classic', '--output-dir', out, executed], {}, out);
    written.push(join(out, `${job.name}.html`));
  }
  return written;
}
