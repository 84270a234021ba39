/**
 * Batch publishing: 100 000 messages in batches of 256 (one frame and one acknowledgement per
 * batch), with the broker's flow control pacing the publisher. Run:
 * `node dist/examples/batch-publisher.js [tcp://host:port]`.
 */
import { BrokerClient, readMessage } from '../broker/client.js';
import { brokerFromArgs } from './connect.js';

const MESSAGES = 100_000;
const BATCH = 256;
const target = await brokerFromArgs();

const consumer = await BrokerClient.connect(target.url, { token: target.token });
let received = 0;
let damaged = 0;
let outOfOrder = 0;
let subscribed: Promise<unknown> = Promise.resolve();
const done = new Promise<void>((resolve) => {
  subscribed = consumer.subscribe('metrics', {}, (bytes, offset, length) => {
    const m = readMessage(bytes, offset, length);
    if (!m.intact) damaged++;
    if (m.sequence !== received) outOfOrder++;
    if (++received === MESSAGES) resolve();
  });
});
await subscribed;

const client = await BrokerClient.connect(target.url, { token: target.token });
const publisher = await client.openPublisher('metrics');
const started = performance.now();
for (let sent = 0; sent < MESSAGES; sent += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, MESSAGES - sent) }, (_, i) => new TextEncoder().encode(`cpu=${(sent + i) % 100}`));
  // Resolves once the broker acknowledged the batch; waits for credit when the window is full.
  await publisher.send(batch);
}
await done;
const seconds = (performance.now() - started) / 1000;
console.log(
  `published and received ${received} messages in batches of ${BATCH} in ${seconds.toFixed(2)} s (${Math.round(received / seconds)} msg/s, one publish acknowledged at a time)`,
);
console.log(`damaged: ${damaged}, out of order: ${outOfOrder}`);

await Promise.all([client.close(), consumer.close()]);
await target.stop();
process.exit(damaged + outOfOrder === 0 ? 0 : 1);
