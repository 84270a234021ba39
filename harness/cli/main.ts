#!/usr/bin/env node
/**
 * `nanomq`. `nanomq broker …` goes straight to the broker's own lean entry (broker/main.ts), so
 * a broker process loads nothing of the harness; every other command is in program.ts.
 * Exit codes (docs/cli.md): 0 ok; 1 a case failed; 2 bad input; 3 an SLO missed with
 * --enforce-slo; 4 a significant regression (compare).
 */
// A reader that stops early (`nanomq csv … | head`) closes the pipe. What it did not read is
// dropped, quietly, instead of Node's stack trace for EPIPE, and the command goes on to its own
// end and its own exit code: a run still writes its results, compare still exits 4 on a
// regression (exiting 0 here would pass a CI gate under pipefail), the broker keeps serving.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
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
