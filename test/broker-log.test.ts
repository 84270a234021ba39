/**
 * The broker on the write-ahead log (`--log DIR`, broker/log-storage.ts), in process: a restarted
 * broker resumes its consumer groups from their committed offsets with every acknowledged
 * message, under each durability policy; a second broker on the same directory is refused; a
 * subscriber is sent only what is durable. Kills mid-publish are scripts/broker-crash-test.mjs.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMessage } from '../broker/client.js';
import { LogStorage } from '../broker/log-storage.js';
import type { Broker } from '../broker/server.js';
import { nodeFiles, type OpenMode } from '../wal/files.js';
import { LogLockedError } from '../wal/lock.js';
import { DURABILITY_POLICIES, type DurabilityPolicy } from '../wal/log.js';
import { brokerFixture, until } from './support/broker-peers.js';

const { startBroker, stopBroker, client, tempDir: logDir } = brokerFixture();

function start(dir: string, durability: DurabilityPolicy): Promise<Broker> {
  return startBroker({ storage: new LogStorage(dir, { durability }) });
}
/** The real file system, counting segment opens and tracking readers' descriptors (segments opened 'r') still open. */
function tracedFiles() {
  const readerFds = new Set<number>();
  const traced = {
    segmentOpens: 0,
    readerFds,
    files: {
      ...nodeFiles,
      open: (path: string, mode: OpenMode) => {
        const fd = nodeFiles.open(path, mode);
        if (path.endsWith('.log')) traced.segmentOpens++;
        if (path.endsWith('.log') && mode === 'r') readerFds.add(fd);
        return fd;
      },
      close: (fd: number) => {
        readerFds.delete(fd);
        nodeFiles.close(fd);
      },
    },
  };
  return traced;
}
function id(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

describe.each(DURABILITY_POLICIES.map((p) => [p] as const))('broker --log, durability %s', (durability) => {
  it('a restarted broker resumes a consumer group at its committed offset, with every acknowledged message', async () => {
    const dir = logDir('broker-log');
    let broker = await start(dir, durability);
    const seen = new Map<number, number>();
    const handler = (bytes: Uint8Array, offset: number, length: number) => {
      const { payload } = readMessage(bytes, offset, length);
      const n = new DataView(payload.buffer, payload.byteOffset).getUint32(0, true);
      seen.set(n, (seen.get(n) ?? 0) + 1);
    };
    const member = await client(broker);
    await member.subscribe('orders', { group: 'billing' }, handler);
    const publisher = await (await client(broker)).openPublisher('orders');
    await publisher.send(Array.from({ length: 1000 }, (_, i) => id(i)));
    await until(() => seen.size === 1000, 5000, 'the first 1000 to be delivered');
    // Let the committed offset be written out, then stop the member and publish more it has not seen.
    await new Promise((r) => setTimeout(r, 250));
    member.destroy();
    await publisher.send(Array.from({ length: 500 }, (_, i) => id(1000 + i)));
    await stopBroker(broker);

    broker = await start(dir, durability);
    const again = await client(broker);
    await again.subscribe('orders', { group: 'billing' }, handler);
    await until(() => seen.size === 1500, 5000, 'the 500 published while the member was away, after the restart');
    // Resumed at the committed offset: the first 1000 are not sent again.
    expect([...seen.entries()].filter(([n, times]) => n < 1000 && times > 1)).toEqual([]);
    expect([...seen.values()].every((t) => t === 1)).toBe(true);
  });
});

describe('broker --log', () => {
  it('refuses a second broker on the same directory, naming the holder', () => {
    const dir = logDir('broker-log');
    const first = new LogStorage(dir, { durability: 'none' });
    first.topic('a');
    expect(() => new LogStorage(dir, { durability: 'none' })).toThrow(LogLockedError);
    first.close();
  });

  it('`nanomq broker --log` refuses a bad policy and a flag without --log, by name, with exit 2', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['dist/broker/main.js', '--port', '0', ...args], { encoding: 'utf8' });
    const bad = run('--log', join(tmpdir(), 'x'), '--durability', 'sometimes');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--durability: expected one of none, batch, always/);
    const alone = run('--durability', 'always');
    expect(alone.status).toBe(2);
    expect(alone.stderr).toMatch(/--durability: needs --log/);
  });

  it('with group commit, a batch is acknowledged and delivered only after the fdatasync that covers it', async () => {
    const dir = logDir('broker-log');
    const storage = new LogStorage(dir, { durability: 'batch', groupCommit: { maxDelayUs: 50_000, maxMessages: 1e9 } });
    const broker = await startBroker({ storage });
    const log = storage.topic('t');
    let delivered = 0;
    await (await client(broker)).subscribe('t', {}, () => delivered++);
    const publisher = await (await client(broker)).openPublisher('t');
    const sent = publisher.send([id(1), id(2)]);
    await until(() => log.endOffset === 2, 5000, 'the batch to be appended');
    // Written, not yet synced (the group commit waits up to 50 ms): neither acknowledged nor sent.
    expect(log.durableOffset).toBe(0);
    expect(delivered).toBe(0);
    await sent;
    expect(log.durableOffset).toBe(2);
    await until(() => delivered === 2, 5000, 'delivery once durable');
  });
});

describe('broker --log, a restart with a backlog', () => {
  it('keeps the backlog on disk and reads it as the group takes it: memory holds none of it, every message arrives once, in order', async () => {
    const dir = logDir('broker-log');
    let broker = await start(dir, 'none');
    const got: number[] = [];
    const handler = (bytes: Uint8Array, offset: number, length: number) => {
      const { payload } = readMessage(bytes, offset, length);
      got.push(new DataView(payload.buffer, payload.byteOffset).getUint32(0, true));
    };
    const member = await client(broker);
    await member.subscribe('orders', { group: 'billing' }, handler);
    await (await (await client(broker)).openPublisher('orders')).send([id(0)]);
    await until(() => got.length === 1, 5000, 'the first message');
    await new Promise((r) => setTimeout(r, 250));
    member.destroy();
    // 9 MiB the group has not had, from three publishers (each may hold a 4 MiB window of
    // messages no one has taken; a crash loop adds windows at every restart).
    const kib = (n: number) => {
      const b = new Uint8Array(1024);
      b.set(id(n));
      return b;
    };
    const PER = 12 * 256;
    for (let p = 0; p < 3; p++) {
      const publisher = await (await client(broker)).openPublisher('orders');
      for (let batch = 0; batch < 12; batch++) await publisher.send(Array.from({ length: 256 }, (_, i) => kib(1 + p * PER + batch * 256 + i)));
    }
    await stopBroker(broker);

    const storage = new LogStorage(dir, { durability: 'none' });
    broker = await startBroker({ storage });
    // Before: the whole backlog was read into memory at start (9 MiB here).
    expect(storage.topic('orders').retainedBytes, 'bytes of the backlog in memory after the restart').toBe(0);
    const again = await client(broker);
    let mostRetained = 0;
    await again.subscribe('orders', { group: 'billing', credit: 1024 }, (bytes, offset, length) => {
      handler(bytes, offset, length);
      mostRetained = Math.max(mostRetained, storage.topic('orders').retainedBytes);
    });
    await until(() => got.length === 1 + 3 * PER, 10_000, `the backlog, after the restart (got ${got.length})`);
    expect(mostRetained).toBe(0);
    expect(got).toEqual(Array.from({ length: 1 + 3 * PER }, (_, i) => i));
    // Published after the restart: from memory, after the backlog.
    await (await (await client(broker)).openPublisher('orders')).send([kib(99_999)]);
    await until(() => got.length === 2 + 3 * PER, 5000, 'a message published after the restart');
    expect(got.at(-1)).toBe(99_999);
  });
});

describe('broker --log, a restart with a backlog two groups drain by turns', () => {
  it('reads each group on sequentially (no rescan of the segment at every turn), every message to each, in order', async () => {
    const dir = logDir('broker-log');
    let broker = await start(dir, 'none');
    const got = { a: [] as number[], b: [] as number[] };
    const handler = (into: number[]) => (bytes: Uint8Array, offset: number, length: number) => {
      const { payload } = readMessage(bytes, offset, length);
      into.push(new DataView(payload.buffer, payload.byteOffset).getUint32(0, true));
    };
    const member = await client(broker);
    await member.subscribe('orders', { group: 'a' }, handler(got.a));
    await member.subscribe('orders', { group: 'b' }, handler(got.b));
    await (await (await client(broker)).openPublisher('orders')).send([id(0)]);
    await until(() => got.a.length === 1 && got.b.length === 1, 5000, 'the first message, to both groups');
    await new Promise((r) => setTimeout(r, 250));
    member.destroy();
    const publisher = await (await client(broker)).openPublisher('orders');
    // 400 small batches: a rescan from the segment start at every turn would read them ~400 times.
    for (let batch = 0; batch < 400; batch++) await publisher.send(Array.from({ length: 8 }, (_, i) => id(1 + batch * 8 + i)));
    await stopBroker(broker);

    // Count the opens of log segments (each reader opens its segment once), and which readers'
    // descriptors are still open: none once the backlog is drained.
    const traced = tracedFiles();
    broker = await startBroker({ storage: new LogStorage(dir, { durability: 'none', files: traced.files }) });
    const { readerFds } = traced;
    const opensAtStart = traced.segmentOpens;
    const again = await client(broker);
    // One batch in flight a group: the two groups' reads alternate, batch by batch.
    await again.subscribe('orders', { group: 'a', credit: 8 }, handler(got.a));
    await again.subscribe('orders', { group: 'b', credit: 8 }, handler(got.b));
    const all = Array.from({ length: 1 + 400 * 8 }, (_, i) => i);
    await until(() => got.a.length === all.length && got.b.length === all.length, 10_000, `both groups' backlogs (a ${got.a.length}, b ${got.b.length})`);
    expect(got.a).toEqual(all);
    expect(got.b).toEqual(all);
    expect(traced.segmentOpens - opensAtStart, 'segment opens while two groups drained 400 batches by turns').toBeLessThanOrEqual(4);
    // Both groups start at the same offset: a reader parked where another already was must not be lost open.
    expect([...readerFds], 'reader descriptors still open after the backlog drained').toEqual([]);
  });
});

describe('broker --log, backlog readers', () => {
  it('never loses a reader open: two groups that read the same batches in turn, then the backlog trimmed away', async () => {
    const dir = logDir('broker-log');
    const broker = await start(dir, 'none');
    let got = 0;
    const member = await client(broker);
    await member.subscribe('orders', { group: 'a' }, () => got++);
    const publisher = await (await client(broker)).openPublisher('orders');
    await publisher.send([id(0)]);
    await until(() => got === 1, 5000, 'the first message');
    await new Promise((r) => setTimeout(r, 250));
    member.destroy();
    for (let batch = 0; batch < 3; batch++) await publisher.send(Array.from({ length: 8 }, (_, i) => id(1 + batch * 8 + i)));
    await stopBroker(broker);

    const { files, readerFds } = tracedFiles();
    const storage = new LogStorage(dir, { durability: 'none', files });
    try {
      const log = storage.topic('orders');
      expect(log.startOffset).toBe(1);
      // Group A reads two batches; group B then reads the same two: B's reader ends where A's
      // stands, at 17 (before: it replaced A's there, and A's stayed open for ever).
      for (const offset of [1, 9, 1, 9]) expect(log.read(offset)?.offset).toBe(offset);
      expect(log.read(17)?.count).toBe(8);
      log.trimBefore(log.endOffset);
      expect([...readerFds], 'reader descriptors open once the backlog is gone').toEqual([]);
    } finally {
      storage.close();
    }
  });
});
