#!/usr/bin/env node
// A client on the host against a broker in a container (scripts/container-test.sh): publishes
// 10 000 messages in batches of 100 and consumes them through the broker, checking each one's
// checksum and order. Exit 0 when all arrived intact and in order; 1 otherwise (a wrong token,
// an unreachable broker, a lost or damaged message), saying which.
// Usage: NANOMQ_TOKEN=... node scripts/container-smoke.mjs tcp://127.0.0.1:PORT
import { BrokerClient, readMessage } from '../dist/broker/client.js';

const MESSAGES = 10_000;
const BATCH = 100;
const url = process.argv[2];
const token = process.env.NANOMQ_TOKEN || undefined;
const timer = setTimeout(() => fail('timed out after 20 s'), 20_000);

function fail(why) {
  console.error(`container smoke test: ${why}`);
  process.exit(1);
}

try {
  const consumer = await BrokerClient.connect(url, { token });
  let received = 0;
  let bad = 0;
  let done;
  const all = new Promise((resolve) => (done = resolve));
  await consumer.subscribe('smoke', {}, (bytes, offset, length) => {
    const m = readMessage(bytes, offset, length);
    if (!m.intact || m.sequence !== received) bad++;
    if (++received === MESSAGES) done();
  });
  const client = await BrokerClient.connect(url, { token });
  const publisher = await client.openPublisher('smoke');
  for (let sent = 0; sent < MESSAGES; sent += BATCH) {
    await publisher.send(Array.from({ length: BATCH }, (_, i) => new TextEncoder().encode(`message ${sent + i}`)));
  }
  await all;
  clearTimeout(timer);
  await Promise.all([client.close(), consumer.close()]);
  if (bad > 0) fail(`${bad} of ${MESSAGES} messages damaged or out of order`);
  console.log(`container smoke test: ${received} messages published and consumed through ${url}, all intact and in order`);
  process.exit(0);
} catch (error) {
  fail(error.message);
}
