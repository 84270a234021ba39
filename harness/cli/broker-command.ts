/**
 * `nanomq broker`: runs the NanoMQ broker (broker/server.ts) until SIGINT or SIGTERM, then stops
 * gracefully (no new connections, queued deliveries written, exit 0).
 *
 * The first line on stdout is always `nanomq broker listening on tcp://HOST:PORT`: the harness
 * starts brokers on port 0 and reads the port the kernel chose back from that line.
 */
import type { Command } from 'commander';
import { Broker, BrokerError, DEFAULT_WINDOW_BYTES } from '../../broker/server.js';
import { formatBytes, parseSize } from '../units.js';
import { BadInput } from './exit.js';

interface BrokerFlags {
  port: string;
  listen: string;
  token?: string;
  window?: string;
  maxConnections?: string;
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new BadInput(`${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function registerBroker(program: Command): void {
  program
    .command('broker')
    .description('run the NanoMQ TCP broker (topics, subscriptions, consumer groups) until SIGINT/SIGTERM')
    .option('--port <n>', 'TCP port (0: any free port, printed on the first line)', '7480')
    .option('--listen <addr>', 'address to listen on; beyond loopback a token is required', '127.0.0.1')
    .option('--token <t>', 'secret every client must present (or set NANOMQ_TOKEN)')
    .option('--window <size>', `bytes a publisher may have in the broker before it waits (default ${formatBytes(DEFAULT_WINDOW_BYTES)})`)
    .option('--max-connections <n>', 'connections served at once', '4096')
    .action(async (flags: BrokerFlags) => {
      const port = wholeNumber('--port', flags.port, 0, 65535);
      const maxConnections = wholeNumber('--max-connections', flags.maxConnections ?? '4096', 1, 1_000_000);
      let windowBytes: number | undefined;
      if (flags.window !== undefined) {
        const parsed = parseSize(flags.window);
        if (!parsed.ok || parsed.value < 1024 || parsed.value > 2 ** 31)
          throw new BadInput(`--window: expected a size from 1KiB to 2GiB, got ${JSON.stringify(flags.window)}`);
        windowBytes = parsed.value;
      }
      const token = flags.token ?? process.env.NANOMQ_TOKEN ?? undefined;
      let broker: Broker;
      try {
        broker = await Broker.start({ host: flags.listen, port, token: token || undefined, windowBytes, maxConnections });
      } catch (error) {
        if (error instanceof BrokerError) throw new BadInput(`--listen: ${error.message}`);
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
          throw new BadInput(`--port/--listen: cannot listen on ${flags.listen}:${port} (${code})`);
        throw error;
      }
      process.stdout.write(`nanomq broker listening on ${broker.url}${token ? ' (token required)' : ''}\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.stderr.write(`nanomq broker: ${signal}, stopping\n`);
          resolve();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      await broker.close();
      const s = broker.statsNow();
      process.stderr.write(
        `nanomq broker: stopped (${s.published} published, ${s.delivered} delivered, ${s.redelivered} redelivered, ${s.protocolErrors} connections refused for bad input)\n`,
      );
      process.exit(0);
    });
}
