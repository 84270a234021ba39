/**
 * Publish/subscribe: one publisher, two subscribers; each subscriber gets every message, in
 * order. Run: `node dist/examples/pub-sub.js [tcp://host:port]`.
 */
import { BrokerClient, readMessage } from '../broker/client.js';
import { brokerFromArgs } from './connect.js';

const MESSAGES = 10;
const target = await brokerFromArgs();
const text = new TextDecoder();

const received: string[][] = [[], []];
const subscribers = await Promise.all(received.map(() => BrokerClient.connect(target.url, { token: target.token })));
let everyoneGotAll: () => void = () => {};
const everyone = new Promise<void>((resolve) => (everyoneGotAll = resolve));
// Subscribed before publishing: a topic keeps nothing for subscribers yet to come.
await Promise.all(
  subscribers.map((client, i) =>
    client.subscribe('greetings', {}, (bytes, offset, length) => {
      const m = readMessage(bytes, offset, length);
      received[i].push(text.decode(m.payload));
      if (received.every((r) => r.length === MESSAGES)) everyoneGotAll();
    }),
  ),
);

const publisher = await BrokerClient.connect(target.url, { token: target.token });
const greetings = await publisher.openPublisher('greetings');
for (let i = 0; i < MESSAGES; i++) await greetings.send(new TextEncoder().encode(`hello #${i}`));
console.log(`published ${MESSAGES} messages to "greetings"`);

await everyone;
for (const [i, r] of received.entries()) console.log(`subscriber ${i + 1} received ${r.length}: ${r[0]} … ${r.at(-1)}`);
const inOrder = received.every((r) => r.every((m, k) => m === `hello #${k}`));
console.log(inOrder ? 'every subscriber got every message, in order' : 'MESSAGES MISSING OR OUT OF ORDER');

await Promise.all([publisher.close(), ...subscribers.map((s) => s.close())]);
await target.stop();
process.exit(inOrder ? 0 : 1);
