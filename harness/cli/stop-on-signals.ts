/**
 * How a long command stops: SIGINT (Ctrl-C), SIGTERM (timeout, docker stop, a cancelled CI job)
 * and SIGHUP alike. The first stops what is running (`signal` aborts) and the command goes on to
 * write what ran, then exits 128 + the signal's number (`exitCode`). A second is the user
 * insisting (a stop that hangs): exit at once, with the command's own word on what that leaves
 * unwritten. The exit hooks still kill the servers and trial processes the command started.
 */
const EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof EXIT_CODES;

export interface SignalStop {
  /** Aborts at the first signal. */
  readonly signal: AbortSignal;
  /** 128 + the first signal's number, once one came. */
  exitCode(): number | undefined;
  /** Takes the handlers off (the command is done). */
  release(): void;
}

export function stopOnSignals(say: { first: (signal: StopSignal) => string; second: (signal: StopSignal) => string }): SignalStop {
  const abort = new AbortController();
  let stoppedBy: StopSignal | undefined;
  const onSignal = (signal: StopSignal) => {
    if (stoppedBy) {
      process.stderr.write(`\n${say.second(signal)}\n`);
      process.exit(EXIT_CODES[signal]);
    }
    stoppedBy = signal;
    process.stderr.write(`\n${say.first(signal)}\n`);
    abort.abort();
  };
  const handlers = (Object.keys(EXIT_CODES) as StopSignal[]).map((signal) => {
    const handler = () => onSignal(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return {
    signal: abort.signal,
    exitCode: () => (stoppedBy ? EXIT_CODES[stoppedBy] : undefined),
    release: () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}
