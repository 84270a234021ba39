/**
 * `nats-jetstream`: NATS JetStream with file storage, through the official client (`nats` 2.x):
 * the durable NATS, to set beside the project's log and the broker on it.
 *
 * Each queue is a fresh stream on one subject (replicated over every node of a local cluster,
 * up to 3). Producers publish with a reply subject and count the server's acknowledgements
 * (PubAck): a message counts as stored once its PubAck is back, and a producer closes only
 * when every one is, failing the trial on an error or a missing one. Consumers are durable pull
 * consumers with explicit acks: fan-out gives each subscriber its own consumer (each gets every
 * message), a consumer group shares one among its members, and what a dead member held
 * unacknowledged is redelivered to the others after ACK_WAIT.
 *
 * Why publish with a reply subject rather than `js.publish()`: that call is a request with its
 * own timer and promise per message, awaited one at a time by most code; the client's own
 * benchmarks publish asynchronously, as here (many in flight, acknowledgements counted as they
 * come). The messages and the server's work are the same.
 *
 * Durability: nats-server 2.9 (Debian 12's) acknowledges a message once its file store holds it
 * in memory and has handed it to a background flusher; the files are synced every 2 minutes,
 * and 2.9 cannot be told otherwise (`sync_interval` came in 2.10). That is durability `none`
 * (a process crash may lose what was not yet written; an OS crash what was not synced); batch
 * and always are not offered rather than mislabelled.
 */
import { randomUUID } from 'node:crypto';
import type { ConsumerMessages, NatsConnection, Subscription } from 'nats';
import type { ConsumerOptions, NetworkBackend } from '../network-contract.js';
import { type DeliveryWindowMemory, deliveryWindowFor } from '../shared/network/delivery-window.js';
import { WindowedConsumer } from '../shared/network/windowed-consumer.js';
import { NATS_TRAITS, type NatsDescriptor, NatsProducer, natsAvailability, startNats } from './backend.js';
import { connectTo, natsPackage, nodeFor, nodeUrls } from './connection.js';

interface JetStreamDescriptor extends NatsDescriptor {
  readonly stream: string;
  /** The stream's byte limit: several windows, so a lagging reader never loses an unread message to it. */
  readonly maxBytes: number;
}

/** How long a delivered message may stay unacknowledged before it goes to another member. */
const ACK_WAIT_MS = 1000;
/** Messages a pull consumer asks for at a time. */
const PULL_BATCH = 1024;
/**
 * Publishes a producer keeps awaiting their PubAck (fewer when the delivery window is smaller):
 * enough to keep the server busy, few enough that a large window does not queue a backlog the
 * server then takes seconds to acknowledge.
 */
const MAX_UNACKED = 8192;
/** How long a closing producer waits for its last acknowledgements. */
const LAST_ACKS_MS = 10_000;

async function ensureStream(nc: NatsConnection, d: JetStreamDescriptor): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const config = {
    name: d.stream,
    subjects: [d.subject],
    storage: natsPackage.get().StorageType.File,
    num_replicas: Math.min(3, nodeUrls(d.url).length),
    max_bytes: d.maxBytes,
    discard: natsPackage.get().DiscardPolicy.Old,
  };
  try {
    await jsm.streams.add(config);
  } catch (error) {
    // Another worker made it first: the same configuration is fine.
    const info = await jsm.streams.info(d.stream).catch(() => undefined);
    if (info === undefined) throw error;
  }
}

class JetStreamProducer extends NatsProducer {
  private readonly inbox = natsPackage.get().createInbox();
  private sent = 0;
  private failures = 0;
  private firstFailure = '';
  private readonly acks: Subscription;

  constructor(nc: NatsConnection, subject: string, window: DeliveryWindowMemory) {
    // Unacknowledged publishes count against the window too: the server stores at its own pace.
    super(nc, subject, window, Math.min(window.limit, MAX_UNACKED));
    this.acks = nc.subscribe(this.inbox, {
      callback: (_error, msg) => {
        this.replied();
        // A PubAck is {"stream":…,"seq":…}; an error is {"error":{…}}.
        const data = msg.data;
        if (data.length > 2 && data[2] === 0x65 /* e */) {
          if (this.failures++ === 0) this.firstFailure = new TextDecoder().decode(data);
        }
      },
    });
  }

  protected override send(message: Buffer): void {
    this.expectReply();
    this.nc.publish(this.subject, message, { reply: this.inbox });
    this.sent++;
  }

  override async close(): Promise<void> {
    await this.nc.flush();
    const deadline = Date.now() + LAST_ACKS_MS;
    while (this.awaitingReply > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    this.acks.unsubscribe();
    await this.nc.close();
    if (this.failures > 0) throw new Error(`JetStream refused ${this.failures} publish(es), the first with ${this.firstFailure}`);
    if (this.awaitingReply > 0)
      throw new Error(`JetStream acknowledged ${this.sent - this.awaitingReply} of ${this.sent} publishes within ${LAST_ACKS_MS / 1000} s`);
  }
}

class JetStreamConsumer extends WindowedConsumer {
  private messages: ConsumerMessages | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly d: JetStreamDescriptor,
    index: number,
    private readonly group: string | undefined,
  ) {
    super(index, d.window);
  }

  protected async receive(): Promise<void> {
    const { d, group } = this;
    if (group !== undefined) this.window.markShared();
    await ensureStream(this.nc, d);
    const name = group ?? `sub-${this.index}`;
    const jsm = await this.nc.jetstreamManager();
    await jsm.consumers.add(d.stream, {
      durable_name: name,
      ack_policy: natsPackage.get().AckPolicy.Explicit,
      deliver_policy: natsPackage.get().DeliverPolicy.All,
      ack_wait: natsPackage.get().nanos(ACK_WAIT_MS),
      max_ack_pending: Math.max(PULL_BATCH, d.window.limit),
    });
    const consumer = await this.nc.jetstream().consumers.get(d.stream, name);
    this.messages = await consumer.consume({
      max_messages: PULL_BATCH,
      callback: (m) => {
        if (m.redelivered) this.redelivered++;
        // Unacknowledged when the visitor threw: the server gives it to another member after ack_wait.
        if (this.deliver(m.data)) m.ack();
      },
    });
  }

  protected stopReceiving(): void {
    this.messages?.stop();
  }

  async close(): Promise<void> {
    this.messages?.stop();
    await this.nc.flush();
    await this.nc.close();
  }
}

export const natsJetStream: NetworkBackend = {
  id: 'nats-jetstream',
  description: 'NATS JetStream (nats-server -js, file storage) through the official client: streams, durable pull consumers, explicit acks',
  traits: { ...NATS_TRAITS, durable: true },
  cluster: 'nats-server nodes with JetStream, routed on loopback; each stream replicated over up to 3 of them',
  available: natsAvailability,
  startServer: (options) => startNats(options, true),
  unsupported({ durability }) {
    if (durability === 'batch' || durability === 'always') {
      return `nats-server 2.9 syncs JetStream files every 2 minutes and cannot be told otherwise (sync_interval came in 2.10): durability ${durability} would be mislabelled`;
    }
    return undefined;
  },
  create(options): JetStreamDescriptor {
    const window = deliveryWindowFor(options);
    const id = randomUUID();
    return {
      backend: 'nats-jetstream',
      sharedBytes: window.words.byteLength,
      url: options.server.url,
      ...(options.server.token !== undefined ? { token: options.server.token } : {}),
      subject: `nanomq.${id}`,
      stream: `nanomq-${id}`,
      maxBytes: Math.max(64 * 1024 * 1024, 4 * options.capacityBytes),
      window,
    };
  },
  async producer(descriptor, index) {
    const d = descriptor as JetStreamDescriptor;
    const nc = await connectTo(nodeFor(d, 'producer', index), d);
    await ensureStream(nc, d);
    return new JetStreamProducer(nc, d.subject, d.window);
  },
  async destroy(descriptor) {
    const d = descriptor as JetStreamDescriptor;
    const nc = await connectTo(nodeFor(d, 'producer', 0), d);
    try {
      await (await nc.jetstreamManager()).streams.delete(d.stream).catch(() => false);
    } finally {
      await nc.close();
    }
  },
  async consumer(descriptor, index, options: ConsumerOptions) {
    const d = descriptor as JetStreamDescriptor;
    return new JetStreamConsumer(await connectTo(nodeFor(d, 'consumer', index), d), d, index, options.group);
  },
};
