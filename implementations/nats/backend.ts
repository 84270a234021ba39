/**
 * `nats`: core NATS publish/subscribe, through the official Node client (`nats` 2.x), on the
 * asynchronous contract (network-contract.ts).
 *
 * Why `nats` 2.x and not `@nats-io/transport-node` 3.x: the 3.x line needs Node 22 (its
 * `@nats-io/nuid` dependency refuses Node 20, the Node this project supports); 2.x runs on
 * Node 20, is what most Node services using NATS depend on, and carries core NATS and
 * JetStream in one package. The wire protocol and the server are the same.
 *
 * Each queue is a fresh subject. Fan-out: every subscriber subscribes to it; consumer groups:
 * a queue group (core NATS's counterpart), whose members the server picks among per message.
 * Core NATS keeps nothing: a message with no subscriber is dropped, a member that dies takes
 * what it was sent with it (at-most-once), and nothing slows a producer down, so a window in
 * shared memory (shared/network/delivery-window.ts) bounds the messages in flight instead.
 *
 * Copies: a producer writes a batch into a fresh buffer (shared/network/windowed-producer.ts), which the
 * client holds until it writes its pending commands to the socket; the client then
 * copies the batch once into one chunk for the socket. A consumer is handed each message as a
 * view of the chunk the socket read, copied once more when that view is not 8-byte aligned
 * (the client's payloads follow a text protocol line; the contract hands over aligned records).
 */
import { randomUUID } from 'node:crypto';
import type { NatsConnection, Subscription } from 'nats';
import type { QueueDescriptor } from '../contract.js';
import type { ConsumerOptions, NetworkBackend, RunningServer, ServerOptions } from '../network-contract.js';
import { type DeliveryWindowMemory, deliveryWindowFor } from '../shared/network/delivery-window.js';
import { WindowedConsumer } from '../shared/network/windowed-consumer.js';
import { WindowedProducer } from '../shared/network/windowed-producer.js';
import { requireServerBinary, type ServerSoftware, serverAvailability, serverVersion } from '../shared/server/server-binary.js';
import { ServerStartError } from '../shared/server/server-process.js';
import { awaitInterest, connectTo, type NatsAddress, nodeFor } from './connection.js';
import { startNatsServer } from './server.js';

export interface NatsDescriptor extends QueueDescriptor, NatsAddress {
  readonly subject: string;
  readonly window: DeliveryWindowMemory;
}

/** How long a new JetStream server or cluster may take to answer. */
const JETSTREAM_READY_MS = 15_000;

const NATS_SERVER: ServerSoftware = {
  binary: 'nats-server',
  envVariable: 'NANOMQ_NATS_SERVER',
  install:
    'apt-get install nats-server (Debian, Ubuntu), or a release from https://github.com/nats-io/nats-server/releases; NANOMQ_NATS_SERVER names the binary',
  clientPackage: 'nats',
  clientInstall: 'npm install nats@2',
};

/** Whether the server binary and the client package are here; the reason and the install command when not. */
export const natsAvailability = () => serverAvailability(NATS_SERVER);

export async function startNats(options: ServerOptions, jetstream: boolean): Promise<RunningServer> {
  const binary = requireServerBinary(NATS_SERVER);
  const server = await startNatsServer({ binary, version: serverVersion(binary) ?? 'nats-server', nodes: options.nodes, jetstream });
  if (jetstream) {
    try {
      await awaitJetStream(server);
    } catch (error) {
      await server.stop();
      throw error;
    }
  }
  return server;
}

/** JetStream answers only once its nodes have elected a meta leader (at once for one server; a moment for a cluster). */
async function awaitJetStream(server: RunningServer): Promise<void> {
  const nc = await connectTo(nodeFor(server, 'producer', 0), server);
  try {
    const deadline = Date.now() + JETSTREAM_READY_MS;
    for (;;) {
      try {
        await (await nc.jetstreamManager()).getAccountInfo();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new ServerStartError(`JetStream did not answer within ${JETSTREAM_READY_MS / 1000} s: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await nc.close();
  }
}

export class NatsProducer extends WindowedProducer {
  constructor(
    protected readonly nc: NatsConnection,
    protected readonly subject: string,
    window: DeliveryWindowMemory,
    pipelineLimit = Number.POSITIVE_INFINITY,
  ) {
    super(window, pipelineLimit);
  }

  protected send(message: Buffer): void {
    this.nc.publish(this.subject, message);
  }

  async close(): Promise<void> {
    // Everything published reaches the server before the connection goes.
    await this.nc.flush();
    await this.nc.close();
  }
}

class NatsConsumer extends WindowedConsumer {
  private subscription: Subscription | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly d: NatsDescriptor,
    index: number,
    private readonly group: string | undefined,
  ) {
    super(index, d.window);
  }

  protected async receive(): Promise<void> {
    const { d, group } = this;
    if (group !== undefined) this.window.markShared();
    this.subscription = this.nc.subscribe(d.subject, {
      ...(group !== undefined ? { queue: group } : {}),
      callback: (error, msg) => {
        if (error) throw error;
        this.deliver(msg.data);
      },
    });
    try {
      await awaitInterest(this.nc, d, d.subject, this.index);
    } catch (error) {
      // start() failed: nothing may reach the visitor after it says so.
      this.stopReceiving();
      throw error;
    }
  }

  /** Core NATS acknowledges nothing: leaving the subject is all there is to stop. */
  protected stopReceiving(): void {
    if (this.subscription !== undefined && !this.subscription.isClosed()) this.subscription.unsubscribe();
  }

  async close(): Promise<void> {
    this.stopReceiving();
    await this.nc.close();
  }
}

/** What both NATS backends can do (JetStream adds durability). */
export const NATS_TRAITS: NetworkBackend['traits'] = {
  maxProducers: 64,
  maxConsumers: 64,
  zeroCopyRead: true,
  zeroCopyWrite: false,
  canBlock: true,
  sharedMemory: false,
  network: true,
  workloads: ['throughput', 'ping-pong', 'rate', 'fan-out', 'consumer-group'],
};

export const nats: NetworkBackend = {
  id: 'nats',
  description: 'core NATS (nats-server, in memory, at most once) through the official client: subjects, fan-out, queue groups',
  traits: NATS_TRAITS,
  cluster: 'nats-server nodes joined by routes on loopback; producers on the first node, consumers on the others',
  available: natsAvailability,
  startServer: (options) => startNats(options, false),
  unsupported({ fault }) {
    if (fault === 'kill-member') return 'core NATS delivers at most once: a queue-group member that dies loses what it was sent (nats-jetstream redelivers)';
    return undefined;
  },
  create(options): NatsDescriptor {
    const window = deliveryWindowFor(options);
    return {
      backend: 'nats',
      sharedBytes: window.words.byteLength,
      url: options.server.url,
      ...(options.server.token !== undefined ? { token: options.server.token } : {}),
      subject: `nanomq.${randomUUID()}`,
      window,
    };
  },
  async producer(descriptor, index) {
    const d = descriptor as NatsDescriptor;
    return new NatsProducer(await connectTo(nodeFor(d, 'producer', index), d), d.subject, d.window);
  },
  async consumer(descriptor, index, options: ConsumerOptions) {
    const d = descriptor as NatsDescriptor;
    return new NatsConsumer(await connectTo(nodeFor(d, 'consumer', index), d), d, index, options.group);
  },
};
