import type { Command } from 'commander';
import { notebookSupport, runNotebooks } from '../report/notebooks.js';
import { parseThreshold, readResultOrBadInput } from './compare-command.js';

interface ReportFlags {
  out?: string;
  baseline?: string;
  threshold: string;
  notebook?: boolean;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('HTML + Markdown report with charts; executed notebooks when Jupyter and tslab are present')
    .argument('<result...>', 'result files')
    .option('--out <dir>', 'report folder (default reports/<scenario>/)')
    .option('--baseline <result>', 'add a comparison with this baseline result file')
    .option('--threshold <pct>', 'smallest change the comparison counts, in percent', '5')
    .option('--notebook', 'also execute the notebooks headless into the report folder')
    .action(async (paths: string[], flags: ReportFlags) => {
      const results = paths.map(readResultOrBadInput);
      const baseline = flags.baseline ? readResultOrBadInput(flags.baseline) : undefined;
      const thresholdPct = parseThreshold(flags.threshold);
      const support = notebookSupport();
      const note = flags.notebook
        ? undefined
        : support.ok
          ? 'Notebooks: run nanomq report --notebook (or npm run notebooks) to execute notebooks/explore.ipynb and compare.ipynb into this folder.'
          : `Notebooks not executed: ${support.reason}`;
      // Loaded here, not at start-up: vega, vega-lite and resvg are large, and every `nanomq`
      // process (forked trial processes included) would otherwise carry them in its memory.
      const { writeReport } = await import('../report/write-report.js');
      const report = await writeReport(results, { sourcePaths: paths, out: flags.out, baseline, thresholdPct, notebookNote: note });
      process.stdout.write(`report: ${report.htmlPath}\nmarkdown: ${report.markdownPath}\ncharts: ${report.charts.length}\n`);
      if (flags.notebook) {
        if (!support.ok) {
          process.stderr.write(`notebooks not executed: ${support.reason}\n`);
          return;
        }
        for (const written of runNotebooks(report.dir, paths, flags.baseline)) process.stdout.write(`notebook: ${written}\n`);
      } else if (!support.ok) {
        process.stderr.write(`(notebooks: ${support.reason})\n`);
      }
    });
}
