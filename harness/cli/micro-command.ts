import type { Command } from 'commander';
import { captureEnvironment } from '../calibration/environment.js';
import { nameFilter, runMicroBenchmarks } from '../micro/micro-benchmarks.js';
import { freeResultPath, writeNewResultFile } from '../results/result-file-name.js';
import { BadInput } from './exit.js';
import { prepareOutputFolder } from './output-folder.js';
import { renderTable } from './table.js';

export function registerMicro(program: Command): void {
  program
    .command('micro')
    .description('single-thread micro-benchmarks (tinybench): backends, envelope, CRC32, HdrHistogram, clock')
    .option('--out <dir>', 'folder for the result file', 'results')
    .option('--time <ms>', 'measuring time per benchmark', '300')
    .option('--filter <patterns>', 'only benchmarks whose name contains one of these (comma-separated; * matches anything)')
    .option('--json', 'print machine-readable results')
    .action(async (flags: { out: string; time: string; filter?: string; json?: boolean }) => {
      const timeMs = Number(flags.time);
      if (!Number.isFinite(timeMs) || timeMs <= 0) throw new BadInput(`--time: expected milliseconds > 0, got ${JSON.stringify(flags.time)}`);
      if (flags.filter !== undefined && flags.filter.trim() === '') throw new BadInput('--filter: empty pattern');
      const filter = flags.filter ? nameFilter(flags.filter) : undefined;
      prepareOutputFolder(flags.out, '--out');
      const environment = captureEnvironment();
      const benchmarks = await runMicroBenchmarks({ timeMs, filter });
      if (benchmarks.length === 0)
        throw new BadInput(`--filter ${JSON.stringify(flags.filter)}: matches no benchmark (nanomq micro without --filter lists them all)`);
      const result = { schema: 'nanomq.micro/1', environment: { ...environment, finishedAt: new Date().toISOString() }, benchmarks };
      const path = writeNewResultFile(freeResultPath(flags.out, 'micro', new Set()), `${JSON.stringify(result, null, 2)}\n`);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ file: path, benchmarks }, null, 2)}\n`);
        return;
      }
      const ns = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'error');
      const rows = benchmarks.map((b) => [
        b.name,
        ns(b.nsPerOp),
        b.messagesPerOp === undefined ? '' : ns(b.nsPerOp / b.messagesPerOp),
        `±${b.rmePct.toFixed(1)}%`,
        String(b.samples),
      ]);
      process.stdout.write(`${renderTable(['benchmark', 'ns/op', 'ns/message', 'rme', 'samples'], rows, new Set([1, 2, 3, 4]))}\n`);
      process.stdout.write(
        `(each sample is ${1000} operations; N-API boundary per message: ${environment.boundary.boundaryNs?.toFixed(1) ?? 'n/a'} ns)\nresult: ${path}\n`,
      );
    });
}
