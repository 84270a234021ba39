import type { Command } from 'commander';
import { notebookSupport, runNotebooks } from '../report/notebooks.js';
import { parseThreshold, readResultOrBadInput } from './arguments.js';
import { BadInput } from './exit.js';
import { refuseKernelPath } from './output-folder.js';

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
      if (flags.out !== undefined) refuseKernelPath(flags.out, '--out');
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
      const { writeReport, recordReportFiles, ReportFolderError } = await import('../report/write-report.js');
      let report: Awaited<ReturnType<typeof writeReport>>;
      try {
        report = await writeReport(results, { out: flags.out, baseline, thresholdPct, notebookNote: note });
      } catch (error) {
        if (error instanceof ReportFolderError) throw new BadInput(flags.out !== undefined ? `--out ${error.message}` : error.message);
        throw error;
      }
      process.stdout.write(`report: ${report.htmlPath}\nmarkdown: ${report.markdownPath}\ncharts: ${report.charts.length}\n`);
      if (flags.notebook) {
        if (!support.ok) {
          process.stderr.write(`notebooks not executed: ${support.reason}\n`);
          return;
        }
        let notebooks: string[];
        try {
          notebooks = runNotebooks(report.dir, paths, flags.baseline);
        } catch (error) {
          if (error instanceof ReportFolderError) throw new BadInput(error.message);
          throw error;
        }
        recordReportFiles(
          report.dir,
          notebooks.flatMap((html) => [html, html.replace(/\.html$/, '.ipynb')]),
        );
        for (const written of notebooks) process.stdout.write(`notebook: ${written}\n`);
      } else if (!support.ok) {
        process.stderr.write(`(notebooks: ${support.reason})\n`);
      }
    });
}
