/**
 * Connecting the harness's producers and consumers to a NATS server or cluster.
 *
 * In a cluster, producers connect to the first node and consumers spread over the others, so
 * every message crosses a route, as it would between hosts. A subscription made on one node
 * reaches the others a moment later (the route sends it on); a message published before then
 * finds no interest there and is dropped, as core NATS drops any message nobody listens for.
 * So a consumer that joins through another node than the producers' waits until its interest
 * has arrived there: it answers requests on a probe subject it subscribes to after its data
 * subject, and asks through the producers' node until one is answered. A route carries the
 * two subscriptions in order, so the probe's answer proves the data subscription is known.
 */
import type { NatsConnection } from 'nats';
import { lazyPackage } from '../shared/network/lazy-package.js';

/** The `nats` package, loaded by the first connection (shared/network/lazy-package.ts says why). */
export const natsPackage = lazyPackage('nats', () => import('nats'));

export interface NatsAddress {
  /** `tcp://host:port`, comma-separated for a cluster. */
  readonly url: string;
  readonly token?: string;
}

/** How long a consumer waits for its interest to reach the producers' node. */
const INTEREST_TIMEOUT_MS = 10_000;

export function nodeUrls(url: string): string[] {
  return url.split(',').map((u) => u.replace(/^tcp:\/\//, 'nats://'));
}

/** The node producers use (the first), or the one consumer `index` uses (the others in turn). */
export function nodeFor(address: NatsAddress, role: 'producer' | 'consumer', index: number): string {
  const urls = nodeUrls(address.url);
  if (role === 'producer' || urls.length === 1) return urls[0];
  return urls[1 + (index % (urls.length - 1))];
}

export async function connectTo(server: string, address: NatsAddress): Promise<NatsConnection> {
  const { connect } = await natsPackage.load();
  return connect({
    servers: server,
    noRandomize: true,
    // A benchmark must not hide a lost connection behind a reconnect: the trial fails instead.
    reconnect: false,
    ...(address.token !== undefined ? { token: address.token } : {}),
  });
}

/**
 * Called by a consumer on `nc` (its own node) after it subscribed to the data subject: returns
 * once the producers' node routes messages to it.
 */
export async function awaitInterest(nc: NatsConnection, address: NatsAddress, subject: string, index: number): Promise<void> {
  const producersNode = nodeFor(address, 'producer', 0);
  const mine = nodeFor(address, 'consumer', index);
  if (producersNode === mine) {
    await nc.flush();
    return;
  }
  const probe = `${subject}.probe.${index}`;
  const answers = nc.subscribe(probe, { callback: (_err, msg) => msg.respond() });
  await nc.flush();
  const asker = await connectTo(producersNode, address);
  try {
    const deadline = Date.now() + INTEREST_TIMEOUT_MS;
    for (;;) {
      try {
        await asker.request(probe, undefined, { timeout: 100 });
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`a subscription on ${mine} did not reach ${producersNode} within ${INTEREST_TIMEOUT_MS / 1000} s: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  } finally {
    answers.unsubscribe();
    await asker.close();
  }
}
