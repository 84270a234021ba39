/**
 * `redis-streams`: Redis Streams with consumer groups (XADD / XREADGROUP / XACK), through the
 * official client (`redis`, node-redis), on the asynchronous contract (network-contract.ts).
 *
 * Why `redis` and not `ioredis`: node-redis is the client Redis itself develops and recommends
 * for new projects, and it pipelines on its own (every command issued in one turn of the event
 * loop goes out in one write), which is how a Node service would send a batch.
 *
 * Each queue is a fresh stream key. A producer sends one XADD per message (a batch is pipelined,
 * not packed into one entry, so groups share out messages, not batches). Reader 0 trims the
 * stream every TRIM_EVERY_MS to the oldest entry some group still needs (XTRIM MINID: the
 * oldest unacknowledged entry of each group, or the last it was handed), so the stream holds
 * what is in flight, not the whole trial, in the server's memory. (A fixed `MAXLEN` cap would
 * trim away what a dead member left unacknowledged before anyone claimed it: lost messages,
 * seen here.) Every reader reads through a consumer group
 * and acknowledges what it read (XACK, pipelined): fan-out gives each subscriber a group of its
 * own (each gets every message), a consumer group is one group shared by its members, which
 * also claim (XAUTOCLAIM) entries a member left unacknowledged for CLAIM_IDLE_MS, as a service
 * recovering from a crashed worker must.
 *
 * Flow control: Redis has none between a producer and a stream's readers, so a window in shared
 * memory (shared/network/delivery-window.ts) bounds the messages in flight; and a producer keeps at
 * most MAX_PENDING_COMMANDS commands awaiting replies.
 *
 * A primary with replicas (`servers: { redis-streams: { nodes: 3 } }`): producers send
 * `WAIT <replicas> <timeout>` after each batch, so a batch counts as sent once every replica
 * has it; readers read from the primary (XREADGROUP writes the group's state).
 */
import { randomUUID } from 'node:crypto';
import type { Durability, QueueDescriptor, WaitOutcome } from '../contract.js';
import type { ConsumerOptions, NetworkBackend, RunningServer, ServerOptions } from '../network-contract.js';
import { type DeliveryWindowMemory, deliveryWindowFor } from '../shared/network/delivery-window.js';
import { lazyPackage } from '../shared/network/lazy-package.js';
import { WindowedConsumer } from '../shared/network/windowed-consumer.js';
import { WindowedProducer } from '../shared/network/windowed-producer.js';
import { requireServerBinary, type ServerSoftware, serverAvailability, serverVersion } from '../shared/server/server-binary.js';
import { startRedisServer } from './server.js';

/** The `redis` package, loaded by the first connection (shared/network/lazy-package.ts says why). */
const redisPackage = lazyPackage('redis', () => import('redis'));

interface RedisDescriptor extends QueueDescriptor {
  readonly url: string;
  readonly token?: string;
  readonly key: string;
  readonly window: DeliveryWindowMemory;
}

const REDIS_SERVER: ServerSoftware = {
  binary: 'redis-server',
  envVariable: 'NANOMQ_REDIS_SERVER',
  install: 'apt-get install redis-server (Debian, Ubuntu), or https://redis.io/downloads; NANOMQ_REDIS_SERVER names the binary',
  clientPackage: 'redis',
  clientInstall: 'npm install redis',
};
/** Entries an XREADGROUP asks for at most. */
const READ_COUNT = 512;
/** How long an XREADGROUP blocks when the stream has nothing new. */
const READ_BLOCK_MS = 100;
/** A group member claims entries another member left unacknowledged this long. */
const CLAIM_IDLE_MS = 1000;
/** How often a group member looks for such entries. */
const CLAIM_EVERY_MS = 250;
/**
 * Commands a producer keeps awaiting replies: a pipeline as deep as a few batches of 256 keeps
 * the server busy. Bounding it by the delivery window alone let a 32 MiB window queue 262 144
 * XADDs in the client, which then crawled (346 msg/s) and timed commands out.
 */
const MAX_PENDING_COMMANDS = 4096;
/** How often reader 0 trims the stream. */
const TRIM_EVERY_MS = 250;
/** How long a producer's WAIT gives the replicas. */
const WAIT_TIMEOUT_MS = 5000;

type Reply = unknown;

function primaryUrl(d: { url: string }): string {
  return d.url.split(',')[0].replace(/^tcp:\/\//, 'redis://');
}

function makeClient(d: RedisDescriptor) {
  return redisPackage.get().createClient({
    url: primaryUrl(d),
    ...(d.token !== undefined ? { password: d.token } : {}),
    // A benchmark must not hide a lost connection behind a reconnect: the trial fails instead.
    socket: { reconnectStrategy: false },
  });
}
type Client = ReturnType<typeof makeClient>;

async function connect(d: RedisDescriptor): Promise<Client> {
  await redisPackage.load();
  const client = makeClient(d);
  client.on('error', () => {
    // Reported by the command that fails; without a listener the client would crash the worker.
  });
  await client.connect();
  return client;
}

class RedisProducer extends WindowedProducer {
  private failure: Error | undefined;
  private readonly key: Buffer;

  constructor(
    private readonly client: Client,
    d: RedisDescriptor,
    private readonly replicas: number,
  ) {
    super(d.window, MAX_PENDING_COMMANDS);
    this.key = Buffer.from(d.key);
  }

  override claim(max: number, length: number): number {
    if (this.failure) throw this.failure;
    return super.claim(max, length);
  }

  protected send(message: Buffer): void {
    this.expectReply();
    this.client.sendCommand(['XADD', this.key, '*', 'd', message]).then(this.onReply, this.onFailure);
  }

  protected override batchSent(): void {
    if (this.replicas === 0) return;
    this.expectReply();
    this.client.sendCommand(['WAIT', String(this.replicas), String(WAIT_TIMEOUT_MS)]).then((acked: Reply) => {
      if (Number(acked) < this.replicas)
        this.onFailure(new Error(`WAIT: ${acked} of ${this.replicas} replicas acknowledged a batch within ${WAIT_TIMEOUT_MS} ms`));
      else this.replied();
    }, this.onFailure);
  }

  private readonly onReply = (): void => this.replied();

  private readonly onFailure = (error: Error): void => {
    // node-redis's errors can have an empty message (a TimeoutError): say which it was.
    this.failure ??= new Error(`redis: ${error.name}${error.message ? `: ${error.message}` : ''}`);
    this.replied();
  };

  override awaitSpace(timeoutMs: number): Promise<WaitOutcome> {
    if (this.failure) throw this.failure;
    return super.awaitSpace(timeoutMs);
  }

  async close(): Promise<void> {
    // Every reply is in (the last command's reply comes after all the others on one connection).
    await this.client.sendCommand(['PING']);
    this.client.destroy();
    if (this.failure) throw this.failure;
  }
}

class RedisConsumer extends WindowedConsumer {
  private closing = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly buffers: Client;

  constructor(
    private readonly client: Client,
    private readonly d: RedisDescriptor,
    index: number,
    private readonly group: string,
    private readonly shared: boolean,
  ) {
    super(index, d.window);
    this.buffers = client.withTypeMapping({ [redisPackage.get().RESP_TYPES.BLOB_STRING]: Buffer }) as unknown as Client;
  }

  protected async receive(): Promise<void> {
    if (this.shared) this.window.markShared();
    try {
      await this.client.sendCommand(['XGROUP', 'CREATE', this.d.key, this.group, '0', 'MKSTREAM']);
    } catch (error) {
      // Another member made the group first.
      if (!/BUSYGROUP/.test((error as Error).message)) throw error;
    }
    this.loop = this.read();
    this.loop.catch(() => {});
  }

  private async read(): Promise<void> {
    const me = `c-${this.index}`;
    let lastClaim = Date.now();
    let lastTrim = Date.now();
    while (!this.closing) {
      if (this.shared && Date.now() - lastClaim >= CLAIM_EVERY_MS) {
        lastClaim = Date.now();
        await this.claimAbandoned(me);
        continue;
      }
      if (this.index === 0 && Date.now() - lastTrim >= TRIM_EVERY_MS) {
        lastTrim = Date.now();
        await trimToNeeded(this.client, this.d.key);
        continue;
      }
      const reply = (await this.buffers.sendCommand([
        'XREADGROUP',
        'GROUP',
        this.group,
        me,
        'COUNT',
        String(READ_COUNT),
        'BLOCK',
        String(READ_BLOCK_MS),
        'STREAMS',
        this.d.key,
        '>',
      ])) as Record<string, Buffer[][]> | [Buffer, Buffer[][]][] | null;
      if (reply === null) continue;
      const entries = Array.isArray(reply) ? reply[0][1] : Object.values(reply)[0];
      this.handle(entries as unknown as [Buffer, Buffer[]][], false);
    }
  }

  /** Entries another member read and never acknowledged (it died): handed out again, counted as redelivered. */
  private async claimAbandoned(me: string): Promise<void> {
    let cursor: string | Buffer = '0-0';
    do {
      const reply = (await this.buffers.sendCommand([
        'XAUTOCLAIM',
        this.d.key,
        this.group,
        me,
        String(CLAIM_IDLE_MS),
        cursor,
        'COUNT',
        String(READ_COUNT),
      ])) as [Buffer, [Buffer, Buffer[] | null][]];
      cursor = reply[0];
      // An entry trimmed away meanwhile comes back with no fields (null).
      this.handle(reply[1].filter((e) => e[1] !== null) as [Buffer, Buffer[]][], true);
    } while (cursor.toString() !== '0-0' && !this.closing);
  }

  private handle(entries: [Buffer, Buffer[]][], redelivered: boolean): void {
    if (entries.length === 0) return;
    const ids: Buffer[] = [];
    for (const [id, fields] of entries) {
      // fields: ['d', message]
      if (redelivered) this.redelivered++;
      // The visitor threw: what it took is acknowledged, the rest stays pending for another member.
      if (!this.deliver(fields[1])) break;
      ids.push(id);
    }
    if (ids.length > 0) this.client.sendCommand(['XACK', this.d.key, this.group, ...ids]).catch(() => {});
  }

  /** The read loop ends at its next turn; what is pending stays so (XAUTOCLAIM by the others). */
  protected stopReceiving(): void {
    this.closing = true;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.loop.catch(() => {});
    await this.client.sendCommand(['PING']).catch(() => {});
    this.client.destroy();
  }
}

/**
 * Trims a stream to the oldest entry any of its groups still needs: a group's oldest
 * unacknowledged entry, or, when it has none, the last entry it was handed (XTRIM MINID ~:
 * Redis removes whole internal nodes only, so a little more stays).
 */
export async function trimToNeeded(client: { sendCommand(args: string[]): Promise<unknown> }, key: string): Promise<void> {
  const groups = (await client.sendCommand(['XINFO', 'GROUPS', key])) as unknown[];
  let oldest: string | undefined;
  for (const group of groups) {
    const info = fieldsOf(group);
    const name = String(info.name);
    const pending = (await client.sendCommand(['XPENDING', key, name])) as [number, string | null, string | null, unknown];
    const needed = Number(pending[0]) > 0 && pending[1] !== null ? String(pending[1]) : String(info['last-delivered-id']);
    if (oldest === undefined || compareIds(needed, oldest) < 0) oldest = needed;
  }
  if (oldest !== undefined) await client.sendCommand(['XTRIM', key, 'MINID', '~', oldest]);
}

/** XINFO's reply for one item: a map under RESP3, a flat [field, value, ...] list under RESP2. */
function fieldsOf(item: unknown): Record<string, unknown> {
  if (!Array.isArray(item)) return item as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (let i = 0; i + 1 < item.length; i += 2) fields[String(item[i])] = item[i + 1];
  return fields;
}

/** Orders stream ids (`milliseconds-sequence`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

function startRedis({ nodes, durability }: ServerOptions): Promise<RunningServer> {
  const binary = requireServerBinary(REDIS_SERVER);
  return startRedisServer({ binary, version: (serverVersion(binary) ?? 'redis-server').replace(/ sha=.*$/, ''), nodes, durability: durability as Durability });
}

export const redisStreams: NetworkBackend = {
  id: 'redis-streams',
  description: 'Redis Streams (redis-server) through the official client: XADD, consumer groups with XREADGROUP and XACK; durable with the AOF',
  traits: {
    maxProducers: 64,
    maxConsumers: 64,
    zeroCopyRead: false,
    zeroCopyWrite: false,
    canBlock: true,
    sharedMemory: false,
    network: true,
    durable: true,
    workloads: ['throughput', 'ping-pong', 'rate', 'fan-out', 'consumer-group'],
  },
  cluster: 'a redis-server primary with replicas on loopback; producers WAIT for every replica after each batch',
  available: () => serverAvailability(REDIS_SERVER),
  startServer: startRedis,
  create(options): RedisDescriptor {
    const window = deliveryWindowFor(options);
    return {
      backend: 'redis-streams',
      sharedBytes: window.words.byteLength,
      url: options.server.url,
      ...(options.server.token !== undefined ? { token: options.server.token } : {}),
      key: `nanomq:${randomUUID()}`,
      window,
    };
  },
  async producer(descriptor) {
    const d = descriptor as RedisDescriptor;
    return new RedisProducer(await connect(d), d, d.url.split(',').length - 1);
  },
  async destroy(descriptor) {
    const client = await connect(descriptor as RedisDescriptor);
    try {
      await client.sendCommand(['DEL', (descriptor as RedisDescriptor).key]);
    } finally {
      client.destroy();
    }
  },
  async consumer(descriptor, index, options: ConsumerOptions) {
    const d = descriptor as RedisDescriptor;
    return new RedisConsumer(await connect(d), d, index, options.group ?? `sub-${index}`, options.group !== undefined);
  },
};
