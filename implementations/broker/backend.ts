/**
 * `broker`: the NanoMQ broker (broker/server.ts) over loopback TCP, through its own client
 * (broker/client.ts), on the asynchronous contract (network-contract.ts).
 *
 * Each queue the harness makes is a fresh topic on one broker that the harness starts for the
 * suite (a child process, `node --max-semi-space-size=1 --expose-gc dist/broker/main.js --port 0`
 * with GLIBC_TUNABLES=glibc.malloc.arena_max=1: the process `nanomq broker` runs, with the same V8
 * flags and environment, broker/node-flags.ts, without its launcher in front; with `--log` for
 * durability batch and always)
 * or that the scenario names (`servers:`).
 * Producers publish batches of up to 256 envelopes; consumers subscribe (fan-out: each its own
 * subscription; consumer groups: one group per queue). Copies: each side copies once between its
 * buffers and the socket (the kernel's copies aside); the broker copies each batch once out of
 * the socket and sends it on as it came, to every subscriber.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { BrokerClient, type ClientSubscription, type Publisher } from '../../broker/client.js';
import { MAX_BATCH } from '../../broker/frames.js';
import { BROKER_NODE_FLAGS, brokerEnvironment } from '../../broker/node-flags.js';
import type { BackendCounters, MessageVisitor, QueueDescriptor, WaitOutcome } from '../contract.js';
import type { AsyncConsumer, AsyncProducer, ConsumerErrorHandler, ConsumerOptions, NetworkBackend, RunningServer, ServerOptions } from '../network-contract.js';
import { packageRoot } from '../package-root.js';
import { GuardedVisitor } from '../shared/network/guarded-visitor.js';
import { removeServerDirectory, runningServer, ServerStartError, serverDirectory, startServerProcess } from '../shared/server/server-process.js';

interface BrokerDescriptor extends QueueDescriptor {
  readonly url: string;
  readonly token?: string;
  readonly topic: string;
}

/** A durable broker's log retention per topic. */
const LOG_RETENTION_BYTES = 64 * 1024 * 1024;

/** Messages a subscriber lets the broker send ahead of its acknowledgements. */
const SUBSCRIBER_CREDIT = 8192;

class BrokerProducer implements AsyncProducer {
  constructor(
    private readonly client: BrokerClient,
    private readonly publisher: Publisher,
  ) {}

  get buffer(): Uint8Array {
    return this.publisher.buffer;
  }

  claim(max: number, length: number): number {
    return this.publisher.claim(Math.min(max, MAX_BATCH), length);
  }

  offsetOf(i: number): number {
    return this.publisher.offsetOf(i);
  }

  commit(): void {
    this.publisher.commit();
  }

  flush(): void {
    this.publisher.flush();
  }

  async awaitSpace(timeoutMs: number): Promise<WaitOutcome> {
    if (this.publisher.ready) return 'not-needed';
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.publisher.waitForCredit().then(() => 'woken' as const),
      new Promise<WaitOutcome>((resolve) => (timer = setTimeout(() => resolve('timed-out'), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (this.client.closed && this.client.error) throw this.client.error;
    return outcome;
  }

  counters(): BackendCounters {
    return {};
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

class BrokerConsumer implements AsyncConsumer {
  private readonly guard = new GuardedVisitor();
  redelivered = 0;
  subscription: ClientSubscription | null = null;

  constructor(
    readonly client: BrokerClient,
    private readonly topic: string,
    private readonly group: string | undefined,
  ) {}

  readonly handler = (bytes: Uint8Array, offset: number, length: number, redelivered: boolean): void => {
    if (redelivered) this.redelivered++;
    // The client cuts its connection when a handler throws, before acknowledging the batch.
    if (!this.guard.visit(bytes, offset, length)) throw new Error('the consumer stopped: its visitor threw');
  };

  async start(visit: MessageVisitor, onError: ConsumerErrorHandler): Promise<void> {
    this.guard.start(visit, onError);
    this.subscription = await this.client.subscribe(this.topic, { group: this.group, credit: SUBSCRIBER_CREDIT }, this.handler);
  }

  counters(): BackendCounters {
    return { redelivered: this.redelivered };
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export const broker: NetworkBackend = {
  id: 'broker',
  description: 'the NanoMQ TCP broker (topics, fan-out, consumer groups, credit flow control) on loopback, through its client',
  traits: {
    maxProducers: 64,
    maxConsumers: 64,
    zeroCopyRead: false,
    zeroCopyWrite: true,
    canBlock: true,
    sharedMemory: false,
    network: true,
    // durability none: topics in memory; batch and always: in a write-ahead log (`--log`).
    durable: true,
    workloads: ['throughput', 'ping-pong', 'rate', 'fan-out', 'consumer-group'],
  },
  available: () => ({ available: true }),
  async startServer({ durability, nodes }: ServerOptions): Promise<RunningServer> {
    if (nodes !== 1) throw new ServerStartError('the NanoMQ broker runs as one process; it has no cluster mode');
    // `nanomq broker`'s own entry: the broker process loads nothing of the harness.
    const entry = join(packageRoot(), 'dist', 'broker', 'main.js');
    // Durable: topics in a log (broker/log-storage.ts) in a directory of the server's own.
    const directory = durability === 'none' ? undefined : serverDirectory();
    // Each trial is a fresh topic and the server lives for the suite: retention keeps a suite's
    // logs to ~64 MiB a topic instead of every byte of every trial (readers are served from
    // memory, and are never that far behind: the publisher's window is far smaller).
    const log = directory === undefined ? [] : ['--log', directory, '--durability', durability, '--retention', String(LOG_RETENTION_BYTES)];
    const environment = brokerEnvironment();
    try {
      const process_ = await startServerProcess({
        command: process.execPath,
        args: [...BROKER_NODE_FLAGS, entry, '--port', '0', ...log],
        env: environment,
        ready: (line) => /^nanomq broker listening on (tcp:\/\/\S+)/.exec(line)?.[1],
      });
      const storage = directory === undefined ? 'in memory' : `topics in a write-ahead log, durability ${durability}`;
      return runningServer({
        url: process_.ready,
        description: `nanomq broker (${storage}), started for the suite as \`nanomq broker\` starts its broker: ${environment.GLIBC_TUNABLES === undefined ? '' : `GLIBC_TUNABLES=${environment.GLIBC_TUNABLES} `}node ${BROKER_NODE_FLAGS.join(' ')}`,
        processes: [process_],
        directory,
      });
    } catch (error) {
      if (directory !== undefined) removeServerDirectory(directory);
      throw error;
    }
  },
  create(options): BrokerDescriptor {
    return { backend: 'broker', sharedBytes: 0, url: options.server.url, token: options.server.token, topic: `q-${randomUUID()}` };
  },
  async producer(descriptor) {
    const d = descriptor as BrokerDescriptor;
    const client = await BrokerClient.connect(d.url, { token: d.token });
    const publisher = await client.openPublisher(d.topic);
    await publisher.waitForCredit();
    return new BrokerProducer(client, publisher);
  },
  async consumer(descriptor, _index, options: ConsumerOptions) {
    const d = descriptor as BrokerDescriptor;
    const client = await BrokerClient.connect(d.url, { token: d.token });
    return new BrokerConsumer(client, d.topic, options.group);
  },
};
