/**
 * The container's health check (`HEALTHCHECK` in the Dockerfile): exits 0 when the broker on
 * this host answers a HELLO, with the token it wants (NANOMQ_TOKEN), within 2 s; 1 otherwise,
 * saying why. A port that merely accepts connections is not enough: a broker that cannot
 * answer its protocol is not healthy.
 */
import { BrokerClient } from './client.js';

const TIMEOUT_MS = 2000;
const port = process.env.NANOMQ_PORT ?? '7480';
const token = process.env.NANOMQ_TOKEN || undefined;

const timer = setTimeout(() => {
  process.stderr.write(`no answer from the broker on port ${port} within ${TIMEOUT_MS / 1000} s\n`);
  process.exit(1);
}, TIMEOUT_MS);
timer.unref();

try {
  const client = await BrokerClient.connect(`tcp://127.0.0.1:${port}`, token ? { token } : {});
  await client.close();
  process.exit(0);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
