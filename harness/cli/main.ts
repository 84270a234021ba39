#!/usr/bin/env node
/**
 * `nanomq`. `nanomq broker …` goes straight to the broker's own lean entry (broker/main.ts), so
 * a broker process loads nothing of the harness; every other command is in program.ts.
 * Exit codes (docs/cli.md): 0 ok; 1 a case failed; 2 bad input; 3 an SLO missed with
 * --enforce-slo; 4 a significant regression (compare).
 */
// A reader that stops early (`nanomq list | head`) closes the pipe: the output it wanted is
// out, so end quietly, as Unix tools do, instead of with Node's stack trace for EPIPE.
// (Result files are written before any table is printed, and exit hooks still stop servers.)
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}
if (process.argv[2] === 'broker' || (process.argv[2] === 'help' && process.argv[3] === 'broker')) {
  // `nanomq help broker` is `nanomq broker --help`, as for every other command.
  const { runBrokerCli } = await import('../../broker/main.js');
  process.exit(await runBrokerCli(process.argv[2] === 'help' ? ['--help'] : process.argv.slice(3)));
} else {
  await import('./program.js');
}
