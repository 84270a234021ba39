#!/usr/bin/env node
/**
 * `nanomq`. `nanomq broker …` goes straight to the broker's own lean entry (broker/main.ts), in
 * a process with the broker's V8 flags and environment (broker/launcher.ts), so a broker process
 * loads nothing of the harness; every other command is in program.ts.
 * Exit codes (docs/cli.md): 0 ok; 1 a case failed; 2 bad input; 3 an SLO missed with
 * --enforce-slo; 4 a significant regression (compare).
 */
import { dropOutputToClosedPipes } from '../../broker/closed-pipes.js';

dropOutputToClosedPipes();
if (process.argv[2] === 'broker' || (process.argv[2] === 'help' && process.argv[3] === 'broker')) {
  // `nanomq help broker` is `nanomq broker --help`, as for every other command.
  const args = process.argv[2] === 'help' ? ['--help'] : process.argv.slice(3);
  const { hasBrokerEnvironment, hasBrokerNodeFlags } = await import('../../broker/node-flags.js');
  if (hasBrokerNodeFlags() && hasBrokerEnvironment()) {
    const { runBrokerCli } = await import('../../broker/main.js');
    process.exit(await runBrokerCli(args));
  } else {
    // V8's heap is sized before any script runs, and glibc reads its tunables when the process
    // starts: the broker's flags and environment need a process of their own.
    const { launchBroker } = await import('../../broker/launcher.js');
    process.exit(await launchBroker(args));
  }
} else {
  await import('./program.js');
}
