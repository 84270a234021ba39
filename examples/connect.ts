/**
 * What every example does first: use the broker named on the command line
 * (`node dist/examples/<name>.js tcp://host:port [--token T]`, or NANOMQ_TOKEN), or start one in
 * this process on a free loopback port when none is named. Any other argument is an error that
 * says what to write (an address without `tcp://` used to start a broker of its own, quietly).
 */
import { Broker } from '../broker/server.js';

export interface Target {
  url: string;
  token?: string;
  /** Stops the broker the example started (nothing when it was given one). */
  stop: () => Promise<void>;
}

export async function brokerFromArgs(argv = process.argv.slice(2)): Promise<Target> {
  // An example that fails says why in one line, not with a stack trace (a missing token, a
  // broker that is not there).
  process.setUncaughtExceptionCaptureCallback((error) => {
    process.stderr.write(`example: ${(error as Error).message ?? String(error)}\n`);
    process.exit(1);
  });
  let url: string | undefined;
  let token = process.env.NANOMQ_TOKEN || undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--token' && i + 1 < argv.length) token = argv[++i];
    else if (/^(tcp|tls):\/\//.test(arg) && url === undefined) url = arg;
    else usage(arg);
  }
  if (url) {
    console.log(`using the broker at ${url}`);
    return { url, ...(token ? { token } : {}), stop: async () => {} };
  }
  const broker = await Broker.start({ port: 0 });
  console.log(`started a broker in this process at ${broker.url}`);
  return { url: broker.url, stop: () => broker.close() };
}

/** An argument the example does not take: said, with what to write, and exit 2 (never ignored). */
function usage(arg: string): never {
  const address = /^[^\s/]+:\d{1,5}$/.test(arg) ? ` (a broker's address is tcp://host:port: did you mean tcp://${arg}?)` : '';
  process.stderr.write(
    `example: ${JSON.stringify(arg)} is not an argument this example takes${address}\nusage: node dist/examples/<name>.js [tcp://host:port | tls://host:port] [--token T]\n`,
  );
  process.exit(2);
}
