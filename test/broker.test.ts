/**
 * The NanoMQ broker (broker/server.ts) and its client, in process over loopback: delivery
 * (every subscriber gets everything, in order, intact; a group shares it exactly once), member
 * failure (nothing lost, duplicates counted), flow control (a stuck subscriber bounds memory and
 * is cut off), and bad input (each mistake closes only the connection that made it).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BrokerClient, BrokerClientError, readMessage } from '../broker/client.js';
import { ErrorCode, FRAME_HEADER_BYTES, FrameType, textFrame, writeFrameHeader } from '../broker/frames.js';
import { LAUNCHED_ENV } from '../broker/launcher.js';
import { MIN_WINDOW_BYTES } from '../broker/limits.js';
import { BROKER_MALLOC_TUNABLES, BROKER_NODE_FLAGS, brokerEnvironment, hasBrokerEnvironment } from '../broker/node-flags.js';
import { Broker, BrokerError } from '../broker/server.js';
import { SharedReads } from '../broker/shared-reads.js';
import { broker as brokerBackend } from '../implementations/broker/backend.js';
import { EnvelopeCodec, HEADER_BYTES, MAX_PAYLOAD_BYTES, payloadCrc } from '../wire/envelope.js';
import { brokerFixture, errorsIn, numberOf, payload, rawPeer, stillServes, until } from './support/broker-peers.js';

const { startBroker, client } = brokerFixture();

/** Publishes `count` messages in batches of mixed sizes (1..256), numbered from `from`. */
async function publishNumbers(broker: Broker, topic: string, count: number, from = 0, producerId = 0): Promise<void> {
  const c = await client(broker);
  const publisher = await c.openPublisher(topic);
  const sizes = [1, 7, 256, 3, 100];
  for (let n = 0, k = 0; n < count; k++) {
    const size = Math.min(sizes[k % sizes.length], count - n);
    await publisher.send(
      Array.from({ length: size }, (_, i) => payload(from + n + i, 8 + ((n + i) % 40))),
      producerId,
    );
    n += size;
  }
}

describe('broker: delivery', () => {
  it('fans every message out to every subscriber, in order per publisher, CRC intact', async () => {
    const broker = await startBroker();
    const seen: Map<number, number[]>[] = [];
    for (let s = 0; s < 3; s++) {
      const bySender = new Map<number, number[]>();
      seen.push(bySender);
      const c = await client(broker);
      await c.subscribe('orders', {}, (bytes, offset, length) => {
        const codec = new EnvelopeCodec(bytes);
        const producer = codec.producerId(offset);
        expect(payloadCrc(bytes, offset + HEADER_BYTES, length - HEADER_BYTES)).toBe(codec.crc(offset));
        const list = bySender.get(producer) ?? [];
        list.push(numberOf(bytes, offset));
        bySender.set(producer, list);
      });
    }
    await Promise.all([publishNumbers(broker, 'orders', 1000, 0, 0), publishNumbers(broker, 'orders', 1000, 5000, 1)]);
    await until(() => seen.every((m) => (m.get(0)?.length ?? 0) + (m.get(1)?.length ?? 0) === 2000), 5000, 'every subscriber to get 2000');
    for (const m of seen) {
      expect(m.get(0)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      expect(m.get(1)).toEqual(Array.from({ length: 1000 }, (_, i) => 5000 + i));
    }
  });

  it('reads plain TCP into its one shared read buffer, TLS into buffers of their own', async () => {
    // That the shared buffer is safe is shown by the tests that deliver a batch later than the
    // read it came in (a dead member's batches given again, a subscriber that pauses): a batch
    // kept as a view of it would be overwritten by then (mutant batch-kept-in-read-buffer).
    expect(SharedReads.available(), 'this Node lets an accepted socket read into a buffer of the broker').toBe(true);
    const plain = await startBroker();
    const got: number[] = [];
    const sub = await client(plain);
    await sub.subscribe('t', {}, (bytes, offset) => got.push(numberOf(bytes, offset)));
    await publishNumbers(plain, 't', 2000);
    await until(() => got.length === 2000, 5000, 'every message over plain TCP');
    expect(got).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    // Both connections (the subscriber's, the publisher's) read every byte into the shared buffer.
    expect(plain.sharedReads.sockets).toBe(2);
    expect(plain.sharedReads.bytes).toBeGreaterThan(2000 * 8);
    // A batch longer than a read is copied out of its reads into the span pool's memory, made
    // for the first (its first part, then its whole length) and reused for the next ones; the
    // subscriber gets every one intact.
    const bigGot: number[] = [];
    await sub.subscribe('big', {}, (bytes, offset, length) => {
      const codec = new EnvelopeCodec(bytes);
      expect(payloadCrc(bytes, offset + HEADER_BYTES, length - HEADER_BYTES)).toBe(codec.crc(offset));
      bigGot.push(numberOf(bytes, offset));
    });
    const big = await (await client(plain)).openPublisher('big');
    for (let b = 0; b < 5; b++) await big.send(Array.from({ length: 100 }, (_, i) => payload(b * 100 + i, 1000)));
    await until(() => bigGot.length === 500, 5000, 'every batch longer than a read');
    expect(bigGot).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(plain.spans.made).toBeLessThanOrEqual(2);

    const tls = join(__dirname, 'fixtures', 'tls');
    const cert = readFileSync(join(tls, 'cert.pem'));
    const secure = await startBroker({ tls: { cert, key: readFileSync(join(tls, 'key.pem')) } });
    let ownTls = 0;
    secure.transientObserver = (bytes) => (ownTls += bytes);
    const c = await BrokerClient.connect(secure.url, { ca: cert });
    try {
      await (await c.openPublisher('t')).send(Array.from({ length: 100 }, (_, i) => payload(i)));
      // Every byte read (the batch, the HELLO and the OPEN_PUBLISHER) was a buffer of its own.
      expect(ownTls).toBeGreaterThanOrEqual(100 * HEADER_BYTES);
      expect(secure.sharedReads.sockets).toBe(0);
    } finally {
      c.destroy();
    }
  });

  it('a consumer group shares the messages: each to exactly one member, every member busy', async () => {
    const broker = await startBroker();
    const byMember: number[][] = [[], [], []];
    for (let m = 0; m < 3; m++) {
      const c = await client(broker);
      await c.subscribe('work', { group: 'billing' }, (bytes, offset) => byMember[m].push(numberOf(bytes, offset)));
    }
    await publishNumbers(broker, 'work', 3000);
    await until(() => byMember.flat().length >= 3000, 5000, '3000 deliveries');
    await new Promise((r) => setTimeout(r, 50));
    const all = byMember.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    for (const got of byMember) {
      expect(got.length).toBeGreaterThan(0);
      // Each member sees its share in order.
      expect(got).toEqual([...got].sort((a, b) => a - b));
    }
  });

  it('a member that dies mid-batch loses nothing: its unacknowledged batches go to the others, flagged redelivered', async () => {
    const broker = await startBroker();
    const processed: number[] = [];
    let redelivered = 0;
    let victimProcessed = 0;
    const victim = await client(broker);
    let dead = false;
    await victim.subscribe('jobs', { group: 'g' }, (bytes, offset) => {
      if (dead) return; // a crashed process handles nothing more
      processed.push(numberOf(bytes, offset));
      if (++victimProcessed === 300) {
        dead = true;
        victim.destroy();
      }
    });
    for (let m = 0; m < 2; m++) {
      const c = await client(broker);
      await c.subscribe('jobs', { group: 'g' }, (bytes, offset, _length, again) => {
        processed.push(numberOf(bytes, offset));
        if (again) redelivered++;
      });
    }
    await publishNumbers(broker, 'jobs', 5000);
    await until(() => new Set(processed).size === 5000, 10_000, 'all 5000 processed by some member');
    expect(dead).toBe(true);
    expect(redelivered).toBeGreaterThan(0);
    const duplicates = processed.length - new Set(processed).size;
    // At least once: what the victim handled but never acknowledged may come twice, never more than it handled.
    expect(duplicates).toBeLessThanOrEqual(victimProcessed);
    expect(broker.statsNow().redelivered).toBeGreaterThan(0);
  });
});

describe('broker: flow control', () => {
  it('a subscriber that stops reading holds its publishers to their window, then is cut off, and they go on', async () => {
    const windowBytes = 256 * 1024;
    const broker = await startBroker({ windowBytes, slowConsumerMs: 600 });
    // A raw subscriber with a little credit that never acknowledges (and never reads its socket).
    const stuck = await rawPeer(broker);
    stuck.socket.pause();
    stuck.socket.write(textFrame(FrameType.SUBSCRIBE, 1, 10, 'feed'));
    await new Promise((r) => setTimeout(r, 50));
    const healthy: number[] = [];
    const h = await client(broker);
    await h.subscribe('feed', {}, (bytes, offset) => healthy.push(numberOf(bytes, offset)));
    const p = await client(broker);
    const publisher = await p.openPublisher('feed');
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, broker.statsNow().retainedBytes)), 2);
    const sent = publisher.send(Array.from({ length: 4000 }, (_, i) => payload(i, 64)));
    await new Promise((r) => setTimeout(r, 300));
    // Held back: the stuck subscriber's cursor pins the topic, the window is spent.
    expect(healthy.length).toBeLessThan(4000);
    expect(publisher.credit).toBeLessThanOrEqual(0);
    await sent; // resolves only once the broker cut the stuck subscriber off
    clearInterval(sampler);
    // Reading again lets this side see the close the broker made (a paused socket reads nothing, not even FIN).
    stuck.socket.resume();
    await stuck.closed;
    expect(errorsIn(stuck.received()).map(([c]) => c)).toContain(ErrorCode.SLOW_CONSUMER);
    await until(() => healthy.length === 4000, 5000, 'the healthy subscriber to get everything');
    // Memory stayed within the window: a batch must fit in the credit left.
    expect(peak).toBeLessThanOrEqual(windowBytes);
    expect(peak).toBeGreaterThan(0);
  });

  it('a publisher with the smallest window the broker takes goes on sending the largest messages, one a batch', async () => {
    // Two of the largest messages, each with its batch's overhead: the credit the broker holds
    // back never leaves the client short of one.
    const broker = await startBroker({ windowBytes: MIN_WINDOW_BYTES });
    const sub = await client(broker);
    let got = 0;
    await sub.subscribe('largest', {}, () => void got++);
    const publisher = await (await client(broker)).openPublisher('largest');
    for (let i = 0; i < 12; i++) await publisher.send([payload(i, MAX_PAYLOAD_BYTES)]);
    await until(() => got === 12, 5000, 'every largest message');
  });

  it('a subscriber that pauses reading gets every message intact: batches dropped while its socket still writes them are not written over', async () => {
    // A plain subscription's batch is dropped once it is sent to every subscriber, which may be
    // before a paused reader's socket has written it out. The publisher's arena must not put new
    // batches into that memory meanwhile (broker/record-arena.ts): this reader would get them.
    const broker = await startBroker({ windowBytes: 256 * 1024 });
    const paused = await client(broker);
    const got: number[] = [];
    let damaged = 0;
    await paused.subscribe('paused', { credit: 100_000 }, (bytes, offset, length) => {
      const m = readMessage(bytes, offset, length);
      if (!m.intact) damaged++;
      got.push(m.sequence);
    });
    const socket = (paused as unknown as { socket: Socket }).socket;
    socket.pause();
    const fast = await client(broker);
    let fastGot = 0;
    await fast.subscribe('paused', {}, () => void fastGot++);
    const publisher = await (await client(broker)).openPublisher('paused');
    // Batches of 256 small messages (24 KiB): each goes into a slab, not memory of its own.
    const n = 100_000;
    const sent = publisher.send(Array.from({ length: n }, (_, i) => payload(i, 64)));
    await until(() => fastGot > 30_000, 10_000, 'the fast subscriber to get a few MB');
    // Past what the kernel takes: the broker has writes waiting in the paused reader's socket.
    await until(() => broker.statsNow().outboundBytes > 0, 10_000, 'output waiting in the paused socket');
    await new Promise((r) => setTimeout(r, 200));
    socket.resume();
    await sent;
    await until(() => got.length === n, 20_000, 'the paused subscriber to get everything');
    expect(damaged).toBe(0);
    // The first message out of place, not a diff of two 100 000-long arrays (which took vitest
    // ~50 s to print under the mutant arena-reuse-under-write).
    expect(
      got.findIndex((v, i) => v !== i),
      'the first message out of place',
    ).toBe(-1);
  });
});

describe('broker: safe by default', () => {
  it('refuses to listen beyond loopback without a token, and refuses clients without the token', async () => {
    await expect(Broker.start({ host: '0.0.0.0' })).rejects.toThrow(BrokerError);
    const broker = await startBroker({ token: 's3cret' });
    await expect(BrokerClient.connect(broker.url)).rejects.toThrow(/token/);
    await expect(BrokerClient.connect(broker.url, { token: 'wrong' })).rejects.toThrow(BrokerClientError);
    const good = await BrokerClient.connect(broker.url, { token: 's3cret' });
    await good.close();
  });

  const frame = (type: number, length: number, count = 0, id = 0) => {
    const f = Buffer.alloc(Math.max(FRAME_HEADER_BYTES, Math.min(length, 64)));
    writeFrameHeader(f, 0, { type, id, arg: 0, count, length });
    return f;
  };
  const mistakes: [string, (handle: number) => Buffer, number][] = [
    ['an oversized frame length', () => frame(FrameType.PUBLISH, 2 ** 31), ErrorCode.BAD_FRAME],
    ['a frame shorter than its header', () => frame(FrameType.PUBLISH, 8), ErrorCode.BAD_FRAME],
    ['an unknown frame type', () => frame(99, 16), ErrorCode.UNKNOWN_TYPE],
    ['a publish to a handle never opened', () => frame(FrameType.PUBLISH, 16, 1, 77), ErrorCode.UNKNOWN_HANDLE],
    [
      'a batch whose records do not fill it',
      (handle) => {
        const f = Buffer.alloc(FRAME_HEADER_BYTES + 80);
        writeFrameHeader(f, 0, { type: FrameType.PUBLISH, id: handle, arg: 0, count: 3, length: f.length });
        new EnvelopeCodec(f).writeBareHeader(FRAME_HEADER_BYTES, 0, 0, 16);
        return f;
      },
      ErrorCode.BAD_RECORD,
    ],
    ['a bad topic name', () => textFrame(FrameType.OPEN_PUBLISHER, 5, 0, '../etc'), ErrorCode.BAD_NAME],
  ];
  for (const [what, make, code] of mistakes) {
    it(`closes the connection that sends ${what}, with an ERROR saying why; others carry on`, async () => {
      const broker = await startBroker();
      const bystander = await client(broker);
      const seen: number[] = [];
      await bystander.subscribe('health', {}, (bytes, offset) => seen.push(numberOf(bytes, offset)));
      const peer = await rawPeer(broker);
      peer.socket.write(textFrame(FrameType.OPEN_PUBLISHER, 1, 0, 'x'));
      await new Promise((r) => setTimeout(r, 30));
      peer.socket.write(make(1));
      await peer.closed;
      expect(errorsIn(peer.received()).map(([c]) => c)).toContain(code);
      expect(await stillServes(broker)).toHaveLength(100);
      expect(seen).toHaveLength(100);
    });
  }

  it('closes a connection that sends half a frame and stalls, or never says HELLO', async () => {
    const broker = await startBroker({ frameTimeoutMs: 300 });
    const half = await rawPeer(broker);
    half.socket.write(frame(FrameType.PUBLISH, 4096).subarray(0, 20));
    const mute = await rawPeer(broker, false);
    await Promise.all([half.closed, mute.closed]);
    expect(errorsIn(half.received())[0][0]).toBe(ErrorCode.STALLED);
    expect(errorsIn(mute.received())[0][0]).toBe(ErrorCode.STALLED);
    expect(await stillServes(broker)).toHaveLength(100);
  });

  it('serves a good client among two thousand open connections, and refuses those past its limit', async () => {
    // Each connection is two descriptors in this one process (both ends): stay inside the soft limit.
    const softLimit = Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 4500);
    const open = Math.min(2000, Math.floor((softLimit - 500) / 2) - 120);
    expect(open, `the soft limit on open files (${softLimit}) leaves room for too few connections`).toBeGreaterThanOrEqual(200);
    const broker = await startBroker({ maxConnections: open + 100 });
    const peers = [];
    for (let i = 0; i < open; i++) peers.push(await rawPeer(broker));
    await until(() => broker.statsNow().connections === open, 5000, `${open} connections`);
    expect(await stillServes(broker)).toHaveLength(100);
    const extra: Awaited<ReturnType<typeof rawPeer>>[] = [];
    for (let i = 0; i < 120; i++) extra.push(await rawPeer(broker));
    await until(() => extra.filter((p) => errorsIn(p.received()).some(([c]) => c === ErrorCode.LIMIT)).length >= 20, 5000, 'LIMIT errors');
    for (const p of [...peers, ...extra]) p.socket.destroy();
    await until(() => broker.statsNow().connections === 0, 5000, 'connections to close');
  }, 60_000);
});

describe('nanomq broker (the command)', () => {
  const cli = join(__dirname, '..', 'dist', 'harness', 'cli', 'main.js');
  /** This process's environment without a developer's own allocator settings, which the broker's would defer to. */
  const cleanEnv = (): NodeJS.ProcessEnv => {
    const env = { ...process.env };
    delete env.GLIBC_TUNABLES;
    delete env.MALLOC_ARENA_MAX;
    return env;
  };

  it('stops on SIGTERM within 2 s, exit 0, with every message published before it delivered', async () => {
    const child = spawn(process.execPath, [cli, 'broker', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    await until(() => /listening on tcp:\/\//.test(out), 10_000, 'the broker to listen');
    const url = /tcp:\/\/\S+/.exec(out)![0];
    const sub = await BrokerClient.connect(url);
    const got: number[] = [];
    await sub.subscribe('t', {}, (bytes, offset) => got.push(numberOf(bytes, offset)));
    const pub = await BrokerClient.connect(url);
    const publisher = await pub.openPublisher('t');
    await publisher.send(Array.from({ length: 20_000 }, (_, i) => payload(i)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const stopAt = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - stopAt).toBeLessThan(2000);
    await until(() => got.length === 20_000 || sub.closed, 2000, 'delivery or close');
    expect(got).toHaveLength(20_000);
    // Its heap goal ran: the broker's V8 flags reached it. (Its stderr may close after 'exit'.)
    await until(() => /stopped \(/.test(err), 2000, "the broker's stopped line");
    expect(err).toMatch(/started \d+ full and \d+ young-generation collections/);
    sub.destroy();
    pub.destroy();
  });

  it('collects the young generation each time it has read its heap headroom from sockets into buffers of their own (TLS)', async () => {
    // Plain TCP is read into the broker's one shared buffer (no garbage to collect); TLS is not.
    const tls = join(__dirname, 'fixtures', 'tls');
    const child = spawn(
      process.execPath,
      [cli, 'broker', '--port', '0', '--heap-headroom', '1MiB', '--tls-cert', join(tls, 'cert.pem'), '--tls-key', join(tls, 'key.pem')],
      { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    await until(() => /listening on tls:\/\//.test(out), 10_000, 'the broker to listen');
    const pub = await BrokerClient.connect(/tls:\/\/\S+/.exec(out)![0], { ca: readFileSync(join(tls, 'cert.pem')) });
    const publisher = await pub.openPublisher('t');
    // ~3.5 MiB read by the broker: three headrooms.
    await publisher.send(Array.from({ length: 6000 }, (_, i) => payload(i, 512)));
    await pub.close();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await until(() => /stopped \(/.test(err), 2000, "the broker's stopped line");
    const young = /started (\d+) full and (\d+) young-generation collections/.exec(err);
    expect(young, err).not.toBeNull();
    // At least one: the time budget may hold the next back (none for 10 t after one that took t).
    expect(Number(young![2]), err).toBeGreaterThanOrEqual(1);
  });

  /**
   * The GLIBC_TUNABLES a process started with, from /proc/PID/environ. glibc (2.36 here) writes a
   * NUL after each tunable it reads, in place, so /proc shows them as separate entries: they are
   * joined again with ':'.
   */
  function tunablesOf(pid: number): string | undefined {
    const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const at = entries.findIndex((v) => v.startsWith('GLIBC_TUNABLES='));
    if (at < 0) return undefined;
    const parts = [entries[at].slice('GLIBC_TUNABLES='.length)];
    for (let i = at + 1; i < entries.length && /^glibc\.[a-z0-9_]+\.[a-z0-9_]+=/.test(entries[i]); i++) parts.push(entries[i]);
    return parts.join(':');
  }

  it("the harness's broker runs with the same allocator settings and V8 flags as nanomq broker's", async () => {
    // The harness passes on this process's environment: without a developer's own settings here.
    const saved = { GLIBC_TUNABLES: process.env.GLIBC_TUNABLES, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX };
    delete process.env.GLIBC_TUNABLES;
    delete process.env.MALLOC_ARENA_MAX;
    const server = await brokerBackend.startServer!({ durability: 'none', nodes: 1 }).finally(() => {
      for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
    });
    try {
      expect(tunablesOf(server.pids[0])).toBe(BROKER_MALLOC_TUNABLES);
      const argv = readFileSync(`/proc/${server.pids[0]}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(argv.slice(1, 1 + BROKER_NODE_FLAGS.length)).toEqual([...BROKER_NODE_FLAGS]);
      expect(server.description).toContain(`GLIBC_TUNABLES=${BROKER_MALLOC_TUNABLES} node ${BROKER_NODE_FLAGS.join(' ')}`);
    } finally {
      await server.stop();
    }
  });

  /** `nanomq broker` started as a terminal starts it: a process group of its own, as Ctrl-C sees it. */
  async function launchedBroker(nodeFlags: readonly string[] = []) {
    const launcher = spawn(process.execPath, [...nodeFlags, cli, 'broker', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: cleanEnv(),
    });
    let out = '';
    let err = '';
    launcher.stdout.on('data', (d) => (out += d));
    launcher.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
    let brokerPid: number;
    try {
      await until(() => /listening on tcp:\/\//.test(out), 10_000, 'the broker to listen');
      // The process serving is the launcher's one child (Linux: /proc/PID/task/PID/children).
      const children = readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, 'utf8').split(/\s+/).filter(Boolean);
      expect(children).toHaveLength(1);
      brokerPid = Number(children[0]);
    } catch (error) {
      launcher.kill('SIGTERM'); // forwarded: nothing is left behind by a test that failed here
      throw error;
    }
    const gone = () => {
      try {
        return /^State:\s+Z/m.test(readFileSync(`/proc/${brokerPid}/status`, 'utf8'));
      } catch {
        return true;
      }
    };
    const cleanUp = () => {
      for (const pid of [launcher.pid!, brokerPid]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    };
    return { launcher, brokerPid, url: /tcp:\/\/\S+/.exec(out)![0], stderr: () => err, exited, gone, cleanUp };
  }

  it("runs its broker with the broker's V8 flags and allocator settings, as the harness does, and takes it down when it dies", async () => {
    const b = await launchedBroker();
    try {
      const argv = readFileSync(`/proc/${b.brokerPid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(argv.slice(1, 1 + BROKER_NODE_FLAGS.length)).toEqual([...BROKER_NODE_FLAGS]);
      expect(argv.slice(1 + BROKER_NODE_FLAGS.length)).toEqual([join(__dirname, '..', 'dist', 'broker', 'main.js'), '--port', '0']);
      expect(tunablesOf(b.brokerPid)).toBe(BROKER_MALLOC_TUNABLES);
      (await BrokerClient.connect(b.url)).destroy();
      // A launcher killed outright cannot forward anything: the broker must notice, and stop as it stops on SIGTERM.
      b.launcher.kill('SIGKILL');
      await until(b.gone, 5000, 'the broker to stop after its launcher was killed');
      await until(() => /stopped \(/.test(b.stderr()), 2000, "the broker's stopped line");
      expect(b.stderr()).toMatch(/its launcher \(nanomq broker\) went away, stopping/);
    } finally {
      b.cleanUp();
    }
  });

  it('started with the V8 flags but not the allocator setting, still runs its broker in a child that has both', async () => {
    // launchedBroker requires exactly one child: run in this process, there would be none.
    const b = await launchedBroker(BROKER_NODE_FLAGS);
    try {
      expect(tunablesOf(b.brokerPid)).toBe(BROKER_MALLOC_TUNABLES);
    } finally {
      b.cleanUp();
    }
  });

  it("keeps a user's own GLIBC_TUNABLES, after the broker's (the later of a tunable named twice wins), and a user's MALLOC_ARENA_MAX", () => {
    expect(brokerEnvironment({ PATH: '/bin' })).toEqual({ PATH: '/bin', GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' });
    expect(brokerEnvironment({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=1:glibc.malloc.arena_max=4');
    expect(brokerEnvironment({ MALLOC_ARENA_MAX: '4' })).toEqual({ MALLOC_ARENA_MAX: '4' });
    expect(hasBrokerEnvironment({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' })).toBe(true);
    expect(hasBrokerEnvironment({ MALLOC_ARENA_MAX: '2' })).toBe(true);
    // glibc ignores an empty or zero MALLOC_ARENA_MAX: the broker's setting then applies.
    expect(hasBrokerEnvironment({ MALLOC_ARENA_MAX: '' })).toBe(false);
    expect(brokerEnvironment({ MALLOC_ARENA_MAX: '0' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=1');
    expect(hasBrokerEnvironment({})).toBe(false);
    // Already there: not added twice.
    expect(brokerEnvironment({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=1');
  });

  it('stops once, gracefully, on a Ctrl-C that reaches the launcher, and ignores the signal repeated while it stops', async () => {
    const b = await launchedBroker();
    // A peer that never closes its side keeps the graceful stop going for its grace time (≥ 100 ms).
    const { port } = new URL(b.url.replace(/^tcp:/, 'http:'));
    const peer = createConnection({ host: '127.0.0.1', port: Number(port), allowHalfOpen: true });
    peer.on('error', () => {});
    try {
      await new Promise((resolve) => peer.once('connect', resolve));
      process.kill(-b.launcher.pid!, 'SIGINT'); // the terminal's Ctrl-C: the launcher's process group
      await until(() => /stopping/.test(b.stderr()), 2000, 'the broker to begin stopping');
      process.kill(b.brokerPid, 'SIGINT'); // and again, straight to the broker (npm, a supervisor)
      expect(await b.exited).toBe(0);
      expect(b.stderr().match(/stopping/g)).toHaveLength(1);
      expect(b.stderr()).toMatch(/stopped \(/);
    } finally {
      peer.destroy();
      b.cleanUp();
    }
  });

  it("returns its broker's exit code, 128 + n when signal n ended it", async () => {
    const b = await launchedBroker();
    try {
      process.kill(b.brokerPid, 'SIGKILL');
      expect(await b.exited).toBe(128 + 9);
    } finally {
      b.cleanUp();
    }
  });

  it('a broker whose launcher was gone before it began stops as soon as it listens', async () => {
    const broker = spawn(process.execPath, [join(__dirname, '..', 'dist', 'broker', 'main.js'), '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, [LAUNCHED_ENV]: '1' },
    });
    broker.disconnect(); // before its first line of code: the launcher SIGKILLed at once
    let err = '';
    broker.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => broker.once('exit', (c) => resolve(c)));
    expect(err).toMatch(/its launcher \(nanomq broker\) went away, stopping/);
    expect(code).toBe(0);
  });

  it('exits 2 naming the flag for a non-loopback address without a token, a bad port and a bad heap headroom', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const c = spawn(process.execPath, [cli, 'broker', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NANOMQ_TOKEN: '' } });
        let err = '';
        c.stderr.on('data', (d) => (err += d));
        c.once('exit', (code) => resolve({ code, err }));
      });
    const open = await run(['--listen', '0.0.0.0', '--port', '0']);
    expect(open.code).toBe(2);
    expect(open.err).toMatch(/--listen: .*token/);
    const port = await run(['--port', '70000']);
    expect(port.code).toBe(2);
    expect(port.err).toMatch(/--port/);
    const headroom = await run(['--port', '0', '--heap-headroom', 'lots']);
    expect(headroom.code).toBe(2);
    expect(headroom.err).toMatch(/--heap-headroom/);
  });
});
