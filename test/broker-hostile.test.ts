/**
 * The broker against clients that misbehave on purpose: each attack of the hostile-client issue
 * (#26) as a test, then all of them at once while a well-behaved pair keeps exchanging verified
 * messages. What each guards is the bound docs/broker.md promises ("Limits"):
 *
 *   1. pre-auth input is 4 KiB; a partial frame holds what has arrived, not what it claims, and
 *      gives the memory back when it completes
 *   2. delivery stops at a connection's outbound limit; an ACK returns only credit delivered
 *   3. a consumer is judged by its oldest unacknowledged delivery, whatever its credit
 *   4. the incomplete-frame timer is per frame
 *   5. an ACK racing the client's own UNSUBSCRIBE closes nothing
 *   6. topics and groups: per-connection quotas, deleted when unused (memory and log directory)
 *   7. the window counts the batch being published, is shared by a connection's publishers, and
 *      a small frame does not pin the socket chunk it came in
 *   8. loopback means an address, the listening server has an error listener, TLS
 */

import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { BrokerClient } from '../broker/client.js';
import { ErrorCode, FRAME_HEADER_BYTES, Frames, FrameType, MAX_FRAME_BYTES, PROTOCOL_VERSION, textFrame, writeFrameHeader } from '../broker/frames.js';
import { LogStorage } from '../broker/log-storage.js';
import { Broker, isLoopback } from '../broker/server.js';
import { brokerFixture, errorsIn, framesIn, numberOf, payload, publishFrame, sleep, stillServes, until } from './support/broker-peers.js';

const { startBroker, stopBroker, client, peer, track, tempDir } = brokerFixture();

/** Resolves true if `p` settles within `ms`, false otherwise. */
const within = (p: Promise<unknown>, ms: number): Promise<boolean> => Promise.race([p.then(() => true), sleep(ms).then(() => false)]);

describe('1. memory a client holds before and between frames', () => {
  it('a connection that has not said HELLO may send at most 4 KiB: a frame length beyond that is refused at once', async () => {
    const broker = await startBroker();
    const p = await peer(broker, false);
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    writeFrameHeader(header, 0, { type: FrameType.HELLO, id: PROTOCOL_VERSION, arg: 0, count: 0, length: MAX_FRAME_BYTES });
    p.socket.write(header);
    p.socket.write(Buffer.alloc(256 * 1024));
    expect(await within(p.closed, 2000), 'closed within 2 s, not held for the HELLO timeout').toBe(true);
    expect(errorsIn(p.received()).map(([c]) => c)).toContain(ErrorCode.TOO_LARGE);
  });

  it('a partial frame holds what has arrived, not what its length claims, and gives it back when it completes', async () => {
    const broker = await startBroker();
    const p = await peer(broker);
    p.socket.write(textFrame(FrameType.OPEN_PUBLISHER, 1, 0, 'big'));
    await until(() => framesIn(p.received()).some((f) => f.type === FrameType.CREDIT), 2000, 'CREDIT');
    // A 1 MiB batch, its first 2 KiB sent.
    const frame = publishFrame(1, 0, 64, 16 * 1024 - 64);
    p.socket.write(frame.subarray(0, 2048));
    await sleep(100);
    expect(broker.statsNow().inputBytes, 'held for 2 KiB of a 1 MiB frame').toBeLessThanOrEqual(64 * 1024);
    p.socket.write(frame.subarray(2048));
    await until(() => framesIn(p.received()).some((f) => f.type === FrameType.PUBACK), 2000, 'PUBACK');
    expect(broker.statsNow().inputBytes, 'after the frame completed').toBeLessThanOrEqual(64 * 1024);
  });
});

describe('1b. the input budget', () => {
  it('never deadlocks: publishers whose frames together exceed it all complete, in turn', async () => {
    const windowBytes = 256 * 1024;
    const broker = await startBroker({ windowBytes, inputBudgetBytes: windowBytes + 16, frameTimeoutMs: 2000 });
    const peers = await Promise.all([0, 1, 2].map(() => peer(broker)));
    for (const p of peers) p.socket.write(textFrame(FrameType.OPEN_PUBLISHER, 1, 0, 'budget'));
    await until(() => peers.every((p) => framesIn(p.received()).some((f) => f.type === FrameType.CREDIT)), 2000, 'CREDITs');
    // Three batches of ~200 KiB, each sent in slices at the same moments: together 3× the budget.
    const frames = peers.map(() => publishFrame(1, 0, 100, 2048 - 64));
    for (let at = 0; at < frames[0].length; at += 16 * 1024) {
      for (let k = 0; k < peers.length; k++) peers[k].socket.write(frames[k].subarray(at, at + 16 * 1024));
      await sleep(5);
    }
    await until(() => peers.every((p) => framesIn(p.received()).some((f) => f.type === FrameType.PUBACK)), 5000, 'every batch acknowledged');
    expect(peers.flatMap((p) => errorsIn(p.received()))).toEqual([]);
    expect(broker.statsNow().inputReservedBytes).toBe(0);
  });

  it('never deadlocks when one read ends a frame and begins the next, on every connection at once', async () => {
    const windowBytes = 256 * 1024;
    const broker = await startBroker({ windowBytes, inputBudgetBytes: windowBytes + 16, frameTimeoutMs: 1000 });
    const peers = await Promise.all([0, 1].map(() => peer(broker)));
    for (const p of peers) p.socket.write(textFrame(FrameType.OPEN_PUBLISHER, 1, 0, 'seam'));
    await until(() => peers.every((p) => framesIn(p.received()).some((f) => f.type === FrameType.CREDIT)), 2000, 'CREDITs');
    // Each: 120 KiB of a first batch, then its end together with the start of a second of 150 KiB.
    const first = publishFrame(1, 0, 60, 2048 - 64);
    const second = publishFrame(1, 1, 75, 2048 - 64);
    for (const p of peers) p.socket.write(first.subarray(0, 100_000));
    await sleep(30);
    for (const p of peers) p.socket.write(Buffer.concat([first.subarray(100_000), second.subarray(0, 20_000)]));
    await sleep(30);
    for (const p of peers) p.socket.write(second.subarray(20_000));
    // Each second batch is answered (acknowledged, or refused for the window): never silence.
    await until(
      () => peers.every((p) => framesIn(p.received()).some((f) => (f.type === FrameType.PUBACK && f.arg === 1) || f.type === FrameType.ERROR)),
      5000,
      'an answer to every second batch',
    );
    expect(broker.statsNow().inputReservedBytes).toBe(0);
  });

  it('counts memory, not bytes: a frame sent a byte a read holds one buffer, not an object per byte', () => {
    // The reader alone, in a process of its own with a collectable heap: 200 000 one-byte reads
    // of a 256 KiB frame, then what the heap and array buffers grew by.
    const script = `
      import { FrameReader } from ${JSON.stringify(join(__dirname, '..', 'dist', 'broker', 'frame-reader.js'))};
      const reader = new FrameReader(() => {}, false, 1 << 20);
      const frame = new Uint8Array(256 * 1024);
      new DataView(frame.buffer).setUint32(0, frame.length, true);
      gc();
      const before = process.memoryUsage();
      for (let i = 0; i < 200000; i++) reader.push(Buffer.from(frame.subarray(i, i + 1)));
      gc();
      const after = process.memoryUsage();
      console.log(JSON.stringify({ grew: after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers, held: reader.heldBytes }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const { grew, held } = JSON.parse(r.stdout) as { grew: number; held: number };
    expect(held).toBeLessThanOrEqual(256 * 1024);
    expect(grew, 'memory for 200 000 bytes of a frame').toBeLessThanOrEqual(2 * 256 * 1024);
  });
});

describe('2. a subscriber that stops reading', () => {
  it('an ACK that returns more credit than was delivered closes the connection', async () => {
    const broker = await startBroker();
    const p = await peer(broker);
    p.socket.write(textFrame(FrameType.SUBSCRIBE, 1, 10, 'feed'));
    await sleep(50);
    p.socket.write(Frames.ack(1, 65535, []));
    expect(await within(p.closed, 2000)).toBe(true);
    expect(errorsIn(p.received()).map(([c]) => c)).toContain(ErrorCode.BAD_FRAME);
  });

  it('delivery stops at the connection outbound limit, so a non-reading subscriber with a million credit holds its publisher, then is cut', async () => {
    const broker = await startBroker({ windowBytes: 256 * 1024, maxPendingBytes: 1024 * 1024, slowConsumerMs: 800 });
    const p = await peer(broker);
    p.socket.pause();
    p.socket.write(textFrame(FrameType.SUBSCRIBE, 1, 1_000_000, 'feed'));
    await sleep(50);
    const c = await client(broker);
    const publisher = await c.openPublisher('feed');
    // Publish 4 KiB messages for 600 ms (before the slow-consumer cut): what the broker takes is bounded.
    const started = Date.now();
    let stopped = false;
    const publishing = (async () => {
      while (!stopped) await publisher.send(Array.from({ length: 16 }, (_, i) => payload(i, 4096)));
    })().catch(() => {});
    let outbound = 0;
    while (Date.now() - started < 600) {
      await sleep(20);
      outbound = Math.max(outbound, broker.statsNow().outboundBytes);
    }
    const sent = broker.statsNow().published * (4096 + 64);
    // What waits in the broker for the subscriber: the limit, and the batch that crossed it.
    expect(outbound, 'bytes queued for the subscriber').toBeLessThanOrEqual(1024 * 1024 + 128 * 1024);
    stopped = true;
    // Window + outbound limit + what the kernel's socket buffers take on loopback (a few MiB).
    expect(sent, `${(sent / 2 ** 20).toFixed(1)} MiB published past a subscriber that reads nothing`).toBeLessThan(24 * 2 ** 20);
    p.socket.resume();
    expect(await within(p.closed, 3000), 'cut as a slow consumer').toBe(true);
    expect(errorsIn(p.received()).map(([code]) => code)).toContain(ErrorCode.SLOW_CONSUMER);
    await publishing;
  });
});

describe('2b. handles', () => {
  it('an ACK or UNSUBSCRIBE naming a publisher handle is a client bug: the connection is closed', async () => {
    const broker = await startBroker();
    const p = await peer(broker);
    p.socket.write(textFrame(FrameType.OPEN_PUBLISHER, 1, 0, 'h'));
    await until(() => framesIn(p.received()).some((f) => f.type === FrameType.CREDIT), 2000, 'CREDIT');
    p.socket.write(Frames.ack(1, 0, []));
    await within(p.closed, 2000);
    expect(errorsIn(p.received()).map(([c]) => c)).toContain(ErrorCode.UNKNOWN_HANDLE);
  });
});

describe('2c. a client that does not read its replies', () => {
  it('is not read while its socket holds the output limit, then is cut: requests cannot fill the broker with answers', async () => {
    const broker = await startBroker({ maxPendingBytes: 64 * 1024, slowConsumerMs: 800 });
    const p = await peer(broker);
    p.socket.pause();
    p.socket.write(textFrame(FrameType.SUBSCRIBE, 1, 1, 'x'));
    p.socket.write(Frames.unsubscribe(1));
    // Leaving again is answered OK every time: 32 KiB of requests make 32 KiB of answers.
    const again = Buffer.concat(Array.from({ length: 2048 }, () => Frames.unsubscribe(1)));
    let peak = 0;
    for (let i = 0; i < 200 && !p.socket.destroyed; i++) {
      p.socket.write(again);
      await sleep(5);
      peak = Math.max(peak, broker.statsNow().outboundBytes);
    }
    expect(peak, 'answers queued for a client that reads none').toBeLessThanOrEqual(64 * 1024 + 64 * 1024);
    await until(() => broker.statsNow().connections === 0, 5000, 'the client to be cut');
  });
});

describe('3. a consumer group member that stops acknowledging', () => {
  for (const variant of ['with credit to spare', 'out of credit, sending empty ACKs'] as const) {
    it(`is cut ${variant}, and its batches go to the others so the publisher resumes`, async () => {
      const broker = await startBroker({ slowConsumerMs: 500 });
      const stuck = await peer(broker);
      stuck.socket.write(textFrame(FrameType.SUBSCRIBE, 1, variant === 'with credit to spare' ? 1_000_000 : 4, 'jobs\0g'));
      const keepAlive = setInterval(() => stuck.socket.write(Frames.ack(1, 0, [])), 100);
      try {
        await sleep(50);
        const got = new Set<number>();
        const member = await client(broker);
        await member.subscribe('jobs', { group: 'g' }, (bytes, offset) => got.add(numberOf(bytes, offset)));
        const pub = await client(broker);
        const publisher = await pub.openPublisher('jobs');
        const messages = 6000; // 6 MiB of 1 KiB payloads: more than the 4 MiB window
        const sent = publisher.send(Array.from({ length: messages }, (_, i) => payload(i, 1024)));
        expect(await within(sent, 8000), 'the publisher finished').toBe(true);
        await until(() => got.size === messages, 5000, `all ${messages} at the healthy member (${got.size})`);
        expect(errorsIn(stuck.received()).map(([c]) => c)).toContain(ErrorCode.SLOW_CONSUMER);
      } finally {
        clearInterval(keepAlive);
      }
    });
  }
});

describe('4. the incomplete-frame timer', () => {
  it('is per frame: a publisher whose frames keep spanning reads is not cut as stalled', async () => {
    const broker = await startBroker({ frameTimeoutMs: 300 });
    const p = await peer(broker);
    p.socket.write(textFrame(FrameType.OPEN_PUBLISHER, 1, 0, 'steady'));
    await until(() => framesIn(p.received()).some((f) => f.type === FrameType.CREDIT), 2000, 'CREDIT');
    const frames = 30;
    const stream = Buffer.concat(Array.from({ length: frames }, (_, k) => publishFrame(1, k, 1, 1024, k)));
    const frameBytes = stream.length / frames;
    // Every write ends halfway through a frame: the reader is mid-frame for the whole 1.2 s,
    // but each frame completes 40 ms after it began.
    let at = 0;
    for (let k = 0; k < frames; k++) {
      const end = Math.min(stream.length, Math.floor((k + 1.5) * frameBytes));
      p.socket.write(stream.subarray(at, end));
      at = end;
      await sleep(40);
    }
    p.socket.write(stream.subarray(at));
    await until(
      () => framesIn(p.received()).some((f) => f.type === FrameType.PUBACK && f.arg === frames - 1) || errorsIn(p.received()).length > 0,
      3000,
      'the last PUBACK',
    );
    expect(errorsIn(p.received())).toEqual([]);
  });
});

describe('5. unsubscribing with the project client', () => {
  it('closes nothing: ACKs for deliveries in flight after UNSUBSCRIBE are ignored, the same connection goes on publishing', async () => {
    const broker = await startBroker();
    const c = await client(broker);
    const feeder = await client(broker);
    const feed = await feeder.openPublisher('busy');
    let stop = false;
    // Several batches in flight at all times, so deliveries are always on their way to the subscriber.
    const batch = Array.from({ length: 256 }, (_, k) => payload(k, 64));
    const feeding = (async () => {
      while (!stop) await Promise.all(Array.from({ length: 8 }, () => feed.send(batch)));
    })();
    const own = await c.openPublisher('mine');
    for (let round = 0; round < 20; round++) {
      let got = 0;
      const s = await c.subscribe('busy', round % 2 === 0 ? {} : { group: 'g' }, () => got++);
      await until(() => got > 1000, 2000, 'deliveries');
      await s.unsubscribe();
      await own.send(payload(round));
      expect(c.closed, `round ${round}: ${c.error?.message}`).toBe(false);
    }
    stop = true;
    await feeding;
  });
});

describe('6. topics and groups', () => {
  it('one connection opens at most its quota of topics; once it leaves they are deleted and others can make topics', async () => {
    const broker = await startBroker({ maxTopics: 200, maxTopicsPerConnection: 50, topicIdleMs: 100 });
    const attacker = await client(broker);
    let opened = 0;
    for (let i = 0; i < 500; i++) {
      try {
        await attacker.openPublisher(`spam-${i}`);
        opened++;
      } catch {
        if (attacker.closed) break;
      }
    }
    expect(opened).toBeLessThanOrEqual(50);
    attacker.destroy();
    await until(() => broker.statsNow().topics === 0, 3000, 'the unused topics to be deleted');
    expect(await stillServes(broker, 'fresh')).toHaveLength(100);
  });

  it('are deleted from the log directory too, and a restarted broker does not bring them back; a log with records is kept', async () => {
    const dir = tempDir();
    const broker = await startBroker({ storage: new LogStorage(dir, { durability: 'batch' }), topicIdleMs: 100 });
    const c = await client(broker);
    for (let i = 0; i < 5; i++) await c.openPublisher(`gone-${i}`);
    await (await c.openPublisher('kept')).send(payload(1));
    expect(readdirSync(join(dir, 'topics')).sort()).toEqual(['topic-gone-0', 'topic-gone-1', 'topic-gone-2', 'topic-gone-3', 'topic-gone-4', 'topic-kept']);
    c.destroy();
    await until(() => readdirSync(join(dir, 'topics')).length === 1, 3000, 'the unused topic directories to go');
    expect(readdirSync(join(dir, 'topics'))).toEqual(['topic-kept']);
    await stopBroker(broker);
    const again = await startBroker({ storage: new LogStorage(dir, { durability: 'batch' }) });
    expect(again.statsNow().topics).toBe(1);
  });

  it('removes only what the log wrote: a file someone else put in an unused topic directory stays, and so does the directory', async () => {
    const dir = tempDir();
    const broker = await startBroker({ storage: new LogStorage(dir, { durability: 'none' }), topicIdleMs: 100 });
    const c = await client(broker);
    await c.openPublisher('notes');
    writeFileSync(join(dir, 'topics', 'topic-notes', 'README.txt'), "not the broker's");
    const errors = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      c.destroy();
      await until(() => broker.statsNow().topics === 0, 3000, 'the topic to be forgotten');
    } finally {
      errors.mockRestore();
    }
    expect(readFileSync(join(dir, 'topics', 'topic-notes', 'README.txt'), 'utf8')).toBe("not the broker's");
  });

  it('a log topic whose publisher leaves before its sync completes is not closed under the sync (the broker does not exit)', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, [join(__dirname, '..', 'dist', 'broker', 'main.js'), '--port', '0', '--log', dir, '--durability', 'batch'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    let exited: number | null = null;
    child.once('exit', (code) => (exited = code));
    try {
      await until(() => /tcp:\/\/\S+/.test(out), 10_000, 'the broker to listen');
      const url = /tcp:\/\/\S+/.exec(out)?.[0] as string;
      // HELLO, a publisher, a batch and the end of the connection in one write, 50 at once, in
      // rounds: the broker reads the batch (its fdatasync queued) and then the close.
      const port = Number(/:(\d+)$/.exec(url)?.[1]);
      for (let round = 0; round < 20 && exited === null; round++) {
        await Promise.all(
          Array.from(
            { length: 50 },
            (_, i) =>
              new Promise<void>((resolve) => {
                const s: Socket = connect({ host: '127.0.0.1', port }, () =>
                  s.end(Buffer.concat([Frames.hello(''), Frames.openPublisher(1, `drop-${round}-${i}`), publishFrame(1, 0, 1, 64)])),
                );
                s.on('error', () => {});
                s.on('close', () => resolve());
                s.resume();
              }),
          ),
        );
        await sleep(20);
      }
      await sleep(300);
      expect(exited, 'the broker exited').toBe(null);
      const c = await BrokerClient.connect(url);
      await (await c.openPublisher('alive')).send(payload(0));
      c.destroy();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a request refused for the topic quota makes no topic and no log directory', async () => {
    const dir = tempDir();
    const broker = await startBroker({ storage: new LogStorage(dir, { durability: 'none' }), maxTopicsPerConnection: 3 });
    const c = await client(broker);
    const opened = vi.spyOn(LogStorage.prototype, 'topic');
    let refused = 0;
    try {
      for (let i = 0; i < 50; i++) await c.openPublisher(`q-${i}`).catch(() => refused++);
      expect(opened.mock.calls.length, 'logs opened').toBe(3);
    } finally {
      opened.mockRestore();
    }
    expect(refused).toBe(47);
    expect(readdirSync(join(dir, 'topics'))).toHaveLength(3);
    expect(broker.statsNow().topics).toBe(3);
  });

  it('a topic holds at most its limit of consumer groups', async () => {
    const broker = await startBroker({ maxGroupsPerTopic: 4 });
    const c = await client(broker);
    for (let g = 0; g < 4; g++) await c.subscribe('t', { group: `g${g}` }, () => {});
    await expect(c.subscribe('t', { group: 'g4' }, () => {})).rejects.toThrow(/group/);
  });

  it('an idle topic with a log costs no timer: groups.json is written only when a group moved', async () => {
    const dir = tempDir();
    const broker = await startBroker({ storage: new LogStorage(dir, { durability: 'none' }), topicIdleMs: 60_000 });
    const c = await client(broker);
    const intervals = vi.spyOn(globalThis, 'setInterval');
    try {
      for (let i = 0; i < 50; i++) await c.openPublisher(`idle-${i}`);
      expect(intervals.mock.calls.length, 'timers started for 50 idle logged topics').toBeLessThan(5);
    } finally {
      intervals.mockRestore();
    }
  });
});

describe('7. window accounting', () => {
  it('counts the batch being published: a batch that does not fit the credit left is refused, and a frame over the window at once', async () => {
    const broker = await startBroker({ windowBytes: 256 * 1024 });
    const stuck = await peer(broker);
    stuck.socket.pause();
    // A group member that never acknowledges: the group keeps every batch.
    stuck.socket.write(textFrame(FrameType.SUBSCRIBE, 1, 1, 'w\0g'));
    const p = await peer(broker);
    p.socket.write(textFrame(FrameType.OPEN_PUBLISHER, 1, 0, 'w'));
    await until(() => framesIn(p.received()).some((f) => f.type === FrameType.CREDIT), 2000, 'CREDIT');
    // 200 KiB, then 200 KiB more: the second does not fit a 256 KiB window (nothing was given back).
    p.socket.write(publishFrame(1, 0, 100, 2048 - 64));
    p.socket.write(publishFrame(1, 1, 100, 2048 - 64));
    await within(p.closed, 2000);
    expect(framesIn(p.received()).filter((f) => f.type === FrameType.PUBACK && f.arg === 1)).toEqual([]);
    expect(errorsIn(p.received()).map(([c]) => c)).toContain(ErrorCode.LIMIT);
    const big = await peer(broker);
    // In one write, so the broker answers the open and refuses the frame in one turn: the answers
    // it gathered go out before the ERROR, not dropped with the connection.
    big.socket.write(Buffer.concat([textFrame(FrameType.OPEN_PUBLISHER, 1, 0, 'w'), publishFrame(1, 0, 256, 1024)]));
    await within(big.closed, 2000);
    expect(errorsIn(big.received()).map(([c]) => c)).toContain(ErrorCode.TOO_LARGE);
    const types = framesIn(big.received()).map((f) => f.type);
    expect(types.slice(-3)).toEqual([FrameType.OK, FrameType.CREDIT, FrameType.ERROR]);
  });

  it('is one window for all the publishers of a connection', async () => {
    const broker = await startBroker({ windowBytes: 256 * 1024 });
    const stuck = await peer(broker);
    stuck.socket.write(textFrame(FrameType.SUBSCRIBE, 1, 1, 'w'));
    const p = await peer(broker);
    for (let h = 1; h <= 4; h++) p.socket.write(textFrame(FrameType.OPEN_PUBLISHER, h, 0, 'w'));
    await until(() => framesIn(p.received()).filter((f) => f.type === FrameType.OK).length >= 5, 2000, 'four OKs');
    const credit = framesIn(p.received())
      .filter((f) => f.type === FrameType.CREDIT)
      .reduce((s, f) => s + f.arg, 0);
    expect(credit, 'credit granted to four publishers of one connection').toBeLessThanOrEqual(256 * 1024);
    // Each handle publishes 200 KiB at once: together 800 KiB against one 256 KiB window.
    for (let h = 1; h <= 4; h++) p.socket.write(publishFrame(h, 0, 100, 2048 - 64));
    await within(p.closed, 2000);
    expect(errorsIn(p.received()).map(([c]) => c)).toContain(ErrorCode.LIMIT);
  });

  it('the client shares it between two publishers of one connection without ever sending an empty batch', async () => {
    const broker = await startBroker({ windowBytes: 256 * 1024 });
    const got: number[] = [];
    const sub = await client(broker);
    await sub.subscribe('big', { credit: 4 }, (bytes, offset) => got.push(numberOf(bytes, offset)));
    const c = await client(broker);
    const [a, b] = await Promise.all([c.openPublisher('big'), c.openPublisher('big')]);
    const big = (n: number) => Array.from({ length: 8 }, (_, i) => payload(n + i, 64 * 1024));
    await Promise.all([a.send(big(0)), b.send(big(100)), a.send(big(200))]);
    await until(() => got.length === 24, 5000, 'all 24 large messages');
    expect(c.closed, c.error?.message).toBe(false);
  });

  it('small batches do not keep whole socket chunks alive past a window: 80 counted bytes never hold 48 KiB', async () => {
    const windowBytes = 256 * 1024;
    const broker = await startBroker({ windowBytes });
    const stuck = await peer(broker);
    stuck.socket.pause();
    // A group member that never acknowledges: the group keeps every batch.
    stuck.socket.write(textFrame(FrameType.SUBSCRIBE, 1, 1, 'pin\0g'));
    const p = await peer(broker);
    p.socket.write(textFrame(FrameType.OPEN_PUBLISHER, 1, 0, 'pin'));
    p.socket.write(textFrame(FrameType.SUBSCRIBE, 2, 1, 'other'));
    await until(() => framesIn(p.received()).filter((f) => f.type === FrameType.OK).length >= 3, 2000, 'OKs');
    // Each read: one 80-byte batch, then 48 KiB of ACKs that return nothing (valid, and kept by no one).
    const padding = Buffer.concat(Array.from({ length: 3072 }, () => Frames.ack(2, 0, [])));
    const batches = 200;
    for (let k = 0; k < batches; k++) {
      p.socket.write(Buffer.concat([publishFrame(1, k, 1, 16, k), padding]));
      await sleep(1);
    }
    await until(() => framesIn(p.received()).some((f) => f.type === FrameType.PUBACK && f.arg === batches - 1), 5000, 'the last PUBACK');
    const topic = broker.topic('pin');
    const chunks = new Set<ArrayBufferLike>();
    let kept = 0;
    for (let offset = 0; offset < batches; offset++) {
      const batch = topic?.log.read(offset);
      if (batch === undefined) continue;
      kept += batch.records.length;
      chunks.add(batch.records.buffer);
    }
    const alive = [...chunks].reduce((sum, c) => sum + c.byteLength, 0);
    expect(kept).toBe(batches * 80);
    expect(alive, `bytes kept alive for ${kept} bytes of batches`).toBeLessThanOrEqual(windowBytes + 2 * kept + 64 * 1024);
  });
});

describe('8. addresses, errors and TLS', () => {
  it('loopback is an address: a name that starts with 127. is not', async () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.3.2.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('127.evil.example')).toBe(false);
    expect(isLoopback('127.0.0.1.nip.io')).toBe(false);
    await expect(Broker.start({ host: '127.evil.example' })).rejects.toThrow(/token/);
  });

  it('an error on the listening server is reported, not thrown out of the event loop', async () => {
    const broker = await startBroker();
    const server = (broker as unknown as { server: import('node:net').Server }).server;
    expect(() => server.emit('error', Object.assign(new Error('accept: too many open files'), { code: 'EMFILE' }))).not.toThrow();
    expect(await stillServes(broker)).toHaveLength(100);
  });

  it('speaks TLS: a tls:// client gets through, the token never crosses the wire in clear, and a plain client is refused', async () => {
    const cert = readFileSync(join(__dirname, 'fixtures', 'tls', 'cert.pem'));
    const key = readFileSync(join(__dirname, 'fixtures', 'tls', 'key.pem'));
    const token = 'token-that-must-not-leak';
    const broker = await startBroker({ token, tls: { cert, key } });
    // A relay between client and broker that keeps every byte the client sends.
    let wire = Buffer.alloc(0);
    const relay = createServer((inbound) => {
      const outbound = connect({ host: '127.0.0.1', port: broker.address.port });
      inbound.on('data', (d) => {
        wire = Buffer.concat([wire, d]);
        outbound.write(d);
      });
      outbound.on('data', (d) => inbound.write(d));
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
      inbound.on('error', () => {});
      outbound.on('error', () => {});
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (relay.address() as { port: number }).port;
      const c = await BrokerClient.connect(`tls://127.0.0.1:${port}`, { token, ca: cert });
      const got: number[] = [];
      await c.subscribe('secret', {}, (bytes, offset) => got.push(numberOf(bytes, offset)));
      await (await c.openPublisher('secret')).send([payload(7)]);
      await until(() => got.length === 1, 2000, 'the message through TLS');
      expect(wire.length).toBeGreaterThan(0);
      expect(wire.includes(Buffer.from(token)), 'the token in clear on the wire').toBe(false);
      await expect(BrokerClient.connect(broker.url.replace('tls://', 'tcp://'), { token })).rejects.toThrow();
    } finally {
      relay.close();
    }
  });
});

describe('all at once', () => {
  it('1 000 unauthenticated sockets holding partial frames, a non-reading subscriber with lying ACKs and a topic creator: a good pair keeps exchanging verified messages', async () => {
    const broker = await startBroker();
    const stop = { now: false };
    // 1 000 sockets that never finish HELLO: each says its frame is 4 KiB and sends half.
    const partial = Buffer.alloc(2048);
    writeFrameHeader(partial, 0, { type: FrameType.HELLO, id: PROTOCOL_VERSION, arg: 0, count: 0, length: 4096 });
    const unauthenticated: Socket[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = connect({ host: '127.0.0.1', port: broker.address.port });
      s.on('error', () => {});
      s.on('connect', () => s.write(partial));
      unauthenticated.push(track(s));
    }
    // A subscriber to the good pair's topic that reads nothing and returns credit it was never sent; it comes back when cut.
    const liar = (async () => {
      while (!stop.now) {
        const p = await peer(broker);
        p.socket.pause();
        p.socket.write(textFrame(FrameType.SUBSCRIBE, 1, 1_000_000, 'good'));
        // It reads nothing for a second (delivery stops at the outbound limit), then lies.
        const acks = setInterval(() => p.socket.write(Frames.ack(1, 65535, [])), 1000);
        await Promise.race([p.closed, until(() => stop.now, 60_000)]);
        clearInterval(acks);
        p.socket.destroy();
      }
    })();
    // A client that makes topics in a loop, reconnecting whenever it is refused or cut.
    let topicsMade = 0;
    const creator = (async () => {
      for (let n = 0; !stop.now; ) {
        const c = await client(broker);
        try {
          for (; !stop.now; n++) {
            await c.openPublisher(`junk-${n}`);
            topicsMade++;
          }
        } catch {
          c.destroy();
        }
      }
    })();
    // The good pair: every message checked for number and CRC, in order.
    const sub = await client(broker);
    let expected = 0;
    let bad = 0;
    await sub.subscribe('good', {}, (bytes, offset, length) => {
      const n = numberOf(bytes, offset);
      if (n !== expected) bad++;
      expected = n + 1;
      if (length !== 64 + 64) bad++;
    });
    const pub = await client(broker);
    const publisher = await pub.openPublisher('good');
    const until3s = Date.now() + 3000;
    let sent = 0;
    let peakInput = 0;
    let peakRetained = 0;
    let peakOutbound = 0;
    let peakConnections = 0;
    while (Date.now() < until3s) {
      await publisher.send(Array.from({ length: 256 }, (_, i) => payload(sent + i, 64)));
      sent += 256;
      const s = broker.statsNow();
      peakInput = Math.max(peakInput, s.inputBytes);
      peakRetained = Math.max(peakRetained, s.retainedBytes);
      peakOutbound = Math.max(peakOutbound, s.outboundBytes);
      peakConnections = Math.max(peakConnections, s.connections);
    }
    await until(() => expected === sent, 5000, `the good subscriber to get all ${sent}`);
    stop.now = true;
    await Promise.all([liar, creator]);
    expect(bad).toBe(0);
    expect(sent).toBeGreaterThan(10_000);
    expect(peakInput, 'partial-frame bytes held').toBeLessThanOrEqual(8 * 2 ** 20);
    expect(peakRetained).toBeLessThanOrEqual(8 * 2 ** 20);
    // Two subscribers (the good one, the liar) at the outbound limit (1 MiB) and a batch each.
    expect(peakOutbound, 'bytes queued in sockets').toBeLessThanOrEqual(2 * (2 ** 20 + 64 * 1024));
    expect(peakConnections, 'the 1 000 sockets were there').toBeGreaterThanOrEqual(1000);
    expect(topicsMade).toBeGreaterThan(0);
    for (const s of unauthenticated) s.destroy();
  }, 60_000);
});
