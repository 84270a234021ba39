/**
 * What every example does first: use the broker named on the command line
 * (`node dist/examples/<name>.js tcp://host:port [--token T]`, or NANOMQ_TOKEN), or start one in
 * this process on a free loopback port when none is named.
 */
import { Broker } from '../broker/server.js';

export interface Target {
  url: string;
  token?: string;
  /** Stops the broker the example started (nothing when it was given one). */
  stop: () => Promise<void>;
}

export async function brokerFromArgs(argv = process.argv.slice(2)): Promise<Target> {
  const url = argv.find((a) => a.startsWith('tcp://'));
  const flag = argv.indexOf('--token');
  const token = (flag >= 0 ? argv[flag + 1] : undefined) ?? (process.env.NANOMQ_TOKEN || undefined);
  if (url) {
    console.log(`using the broker at ${url}`);
    return { url, ...(token ? { token } : {}), stop: async () => {} };
  }
  const broker = await Broker.start({ port: 0 });
  console.log(`started a broker in this process at ${broker.url}`);
  return { url: broker.url, stop: () => broker.close() };
}
