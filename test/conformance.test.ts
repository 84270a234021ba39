/**
 * One conformance suite for every registered backend, as JCTools runs QueueSanityTest against
 * every queue: a backend that is listed in the registry is tested here without further wiring.
 * Single-thread operations only; cross-thread behaviour is in stress.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../harness/metrics/stats.js';
import type { Consumer, Producer, QueueBackend } from '../implementations/contract.js';
import { backends } from '../implementations/registry.js';
import { decode, EnvelopeError, encode, HEADER_BYTES, MAX_ENVELOPE_BYTES, MAX_PAYLOAD_BYTES } from '../wire/envelope.js';
import type { ContractWorkerData } from './support/worker-data.js';
import { workerAnswer } from './support/workers.js';

const CAPACITY = 256 * 1024;

/**
 * Runs one contract edge case (test/support/contract-worker.mjs) on a worker thread with a
 * deadline: a backend that deadlocks fails here instead of hanging the runner.
 */
function inWorker<T>(job: string, backendId: string, deadlineMs = 20_000): Promise<T> {
  return workerAnswer<T>(new URL('./support/contract-worker.mjs', import.meta.url), { job, backendId } satisfies ContractWorkerData, {
    what: `${job} on ${backendId}`,
    deadlineMs,
    terminateOnAnswer: true,
  });
}

/** Queues made by `open`, freed after each test (the log's directory). */
const made: (() => void)[] = [];

function open(backend: QueueBackend, capacityBytes = CAPACITY) {
  const d = backend.create({ capacityBytes, producers: 1, consumers: 1, maxMessageBytes: MAX_ENVELOPE_BYTES });
  const producer = backend.producer(backend.select?.(d, 'producer', 0) ?? d, 0);
  const consumer = backend.consumer(backend.select?.(d, 'consumer', 0) ?? d, 0);
  made.push(() => {
    producer.close();
    consumer.close();
    backend.destroy?.(d);
  });
  return { producer, consumer };
}

function payloadOf(size: number, seed: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (i * 13 + seed * 7) & 0xff;
  return p;
}

/** Byte equality without vitest's element-by-element deep diff, which crawls on 64 KiB arrays. */
function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Reads everything currently in the queue as copies. */
function readAll(consumer: Consumer, max = 1 << 20): Uint8Array[] {
  const out: Uint8Array[] = [];
  while (consumer.drain(max, (bytes, offset, length) => out.push(bytes.slice(offset, offset + length))) > 0);
  return out;
}

// Self-driven backends (native-threads) have no JavaScript side to attach, and null carries no
// bytes: the harness tests both end to end.
const testable = backends.filter((b) => b.available().available && !b.traits.selfDriven && b.traits.carriesBytes !== false);
const unavailable = backends.filter((b) => !b.available().available);

describe.each(testable.map((b) => [b.id, b] as const))('conformance: %s', (_id, backend) => {
  let queue: { producer: Producer; consumer: Consumer };
  afterEach(() => {
    for (const free of made.splice(0)) free();
  });

  it('reports an empty queue as a return value, not an exception', () => {
    queue = open(backend);
    expect(queue.consumer.drain(10, () => expect.unreachable())).toBe(0);
    expect(queue.consumer.tryRead(new Uint8Array(MAX_ENVELOPE_BYTES))).toBe(-1);
  });

  it('delivers single messages in FIFO order, intact', () => {
    queue = open(backend);
    for (let seq = 0; seq < 100; seq++) {
      expect(queue.producer.tryWrite(encode({ producerId: 3, sequence: seq }, payloadOf(seq * 3, seq)))).toBe(true);
    }
    const got = readAll(queue.consumer);
    expect(got).toHaveLength(100);
    got.forEach((bytes, seq) => {
      const { header, payload } = decode(bytes);
      expect(header.sequence).toBe(seq);
      expect(header.producerId).toBe(3);
      expect(payload).toEqual(payloadOf(seq * 3, seq));
    });
  });

  it('reports a full queue as a return value and accepts again after a read', () => {
    queue = open(backend);
    const message = encode({ producerId: 0, sequence: 0 }, payloadOf(1000, 1));
    let written = 0;
    while (queue.producer.tryWrite(message)) {
      written++;
      expect(written).toBeLessThan(10_000);
    }
    expect(written).toBeGreaterThan(0);
    expect(queue.producer.claim(1, message.length)).toBe(0);
    const scratch = new Uint8Array(MAX_ENVELOPE_BYTES);
    // post-message returns credit per batch, which is one message here.
    expect(queue.consumer.tryRead(scratch)).toBe(message.length);
    expect(queue.producer.tryWrite(message)).toBe(true);
    expect(readAll(queue.consumer)).toHaveLength(written);
  });

  it('wraps around with mixed sizes up to 64 KiB, byte for byte', () => {
    queue = open(backend);
    const random = seededRandom(42);
    const pending: Uint8Array[] = [];
    let sent = 0;
    let checked = 0;
    let bytesMoved = 0;
    const scratch = new Uint8Array(MAX_ENVELOPE_BYTES);
    while (bytesMoved < 20 * CAPACITY) {
      const r = random();
      const size = r < 0.05 ? MAX_PAYLOAD_BYTES : r < 0.3 ? Math.floor(random() * 20_000) : Math.floor(random() * 300);
      const message = encode({ producerId: 1, sequence: sent }, payloadOf(size, sent));
      if (queue.producer.tryWrite(message)) {
        pending.push(message);
        sent++;
        bytesMoved += message.length;
      }
      // Read sometimes, so the ring is at every fill level when it wraps.
      if (random() < 0.4 || pending.length > 64) {
        const length = queue.consumer.tryRead(scratch);
        if (length >= 0) {
          const expected = pending.shift()!;
          expect(length).toBe(expected.length);
          expect(sameBytes(scratch.subarray(0, length), expected)).toBe(true);
          checked++;
        }
      }
    }
    for (const bytes of readAll(queue.consumer)) {
      expect(sameBytes(bytes, pending.shift())).toBe(true);
      checked++;
    }
    expect(pending).toHaveLength(0);
    expect(checked).toBe(sent);
  });

  it('publishes a batch claim only at commit, all at once, in order', () => {
    queue = open(backend);
    const { producer, consumer } = queue;
    const length = HEADER_BYTES + 16;
    const n = producer.claim(256, length);
    expect(n).toBe(256);
    for (let i = 0; i < n; i++) {
      const message = encode({ producerId: 2, sequence: i }, payloadOf(16, i));
      producer.buffer.set(message, producer.offsetOf(i));
    }
    expect(consumer.drain(1000, () => {})).toBe(0);
    producer.commit();
    const seqs: number[] = [];
    let total = 0;
    // A drain stops at its max and the next one carries on where it stopped.
    while (true) {
      const got = consumer.drain(100, (bytes, offset, len) => seqs.push(decode(bytes, offset, len).header.sequence));
      if (got === 0) break;
      expect(got).toBeLessThanOrEqual(100);
      total += got;
    }
    expect(total).toBe(256);
    expect(seqs).toEqual(Array.from({ length: 256 }, (_, i) => i));
  });

  it('claims only what fits when the queue is nearly full', () => {
    queue = open(backend, 64 * 1024);
    const length = HEADER_BYTES + 1000;
    let claimed = 0;
    for (;;) {
      const n = queue.producer.claim(7, length);
      if (n === 0) break;
      expect(n).toBeLessThanOrEqual(7);
      for (let i = 0; i < n; i++) queue.producer.buffer.set(encode({ producerId: 0, sequence: claimed + i }, payloadOf(1000, 0)), queue.producer.offsetOf(i));
      queue.producer.commit();
      claimed += n;
    }
    expect(claimed).toBeGreaterThan(0);
    expect(readAll(queue.consumer).map((b) => decode(b).header.sequence)).toEqual(Array.from({ length: claimed }, (_, i) => i));
  });

  it('carries zero-length payloads', () => {
    queue = open(backend);
    for (let seq = 0; seq < 10; seq++) expect(queue.producer.tryWrite(encode({ producerId: 0, sequence: seq }))).toBe(true);
    const got = readAll(queue.consumer);
    expect(got.map((b) => b.length)).toEqual(Array(10).fill(HEADER_BYTES));
    expect(got.map((b) => decode(b).payload.length)).toEqual(Array(10).fill(0));
  });

  it('hands the drain callback a view of the message, valid during the call', () => {
    queue = open(backend);
    const message = encode({ producerId: 0, sequence: 7 }, payloadOf(100, 7));
    queue.producer.tryWrite(message);
    let seen: Uint8Array | null = null;
    queue.consumer.drain(1, (bytes, offset, length) => {
      expect(bytes).toBeInstanceOf(Uint8Array);
      seen = bytes.slice(offset, offset + length);
    });
    expect(seen).toEqual(message);
  });

  it('consumes exactly the messages visited when a visitor throws mid-drain; the one that threw stays', async () => {
    const r = await inWorker<{ thrown: string; visited: number[]; after: number[]; small: string; last: number[] }>('throwing-visitor', backend.id);
    expect(r.thrown).toBe('visitor failed');
    expect(r.visited).toEqual([0, 1, 2]);
    // Nothing visited is delivered again; the throwing message is next; the queue still works.
    expect(r.after).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(r.small).toBe('RangeError');
    expect(r.last).toEqual([12]);
  });

  it('close() with a claim open delivers none of it and leaves the queue usable', async () => {
    const r = await inWorker<{ claimed: number; delivered: number[] }>('close-with-open-claim', backend.id);
    expect(r.claimed).toBe(3);
    // Many-producer backends may interleave producers; each producer's own order must hold.
    expect([...r.delivered].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    expect(r.delivered.filter((s) => s < 2)).toEqual([0, 1]);
    expect(r.delivered.filter((s) => s >= 2)).toEqual([2, 3, 4]);
  });

  it('refuses a second claim before commit, and the first still commits whole', async () => {
    const r = await inWorker<{ claimed: number; error: string; delivered: number[]; after: number[] }>('second-claim', backend.id);
    expect(r).toEqual({ claimed: 2, error: 'ClaimOpenError', delivered: [0, 1], after: [2] });
  });

  it('abort() discards a claim and gives its space back', async () => {
    const r = await inWorker<{ delivered: number[] }>('abort', backend.id);
    expect(r.delivered).toEqual([0, 1, 2]);
  });

  it('refuses a message larger than the queue allows, never truncating it', () => {
    queue = open(backend, 64 * 1024);
    expect(() => queue.producer.claim(1, 16 * 1024 * 1024)).toThrow(RangeError);
    expect(() => queue.producer.tryWrite(new Uint8Array(16 * 1024 * 1024))).toThrow(RangeError);
    expect(queue.consumer.drain(10, () => {})).toBe(0);
  });
});

describe('envelope', () => {
  it('refuses a payload over 64 KiB with a clear error', () => {
    expect(() => encode({ producerId: 0, sequence: 0 }, new Uint8Array(MAX_PAYLOAD_BYTES + 1))).toThrow(EnvelopeError);
    expect(() => encode({ producerId: 0, sequence: 0 }, new Uint8Array(MAX_PAYLOAD_BYTES + 1))).toThrow(/65537 bytes is outside 0..65536/);
  });

  it('round-trips every header field, with 64-bit sequence and timestamp', () => {
    const bytes = encode({ producerId: 65535, sequence: 2 ** 40 + 5, timestampNs: 2 ** 50 + 3, sentAtNs: 2 ** 45 }, payloadOf(64, 1));
    const { header } = decode(bytes);
    expect(header).toMatchObject({ producerId: 65535, sequence: 2 ** 40 + 5, timestampNs: 2 ** 50 + 3, sentAtNs: 2 ** 45, payloadLength: 64 });
  });

  it('detects a flipped payload bit through the CRC32', () => {
    const bytes = encode({ producerId: 0, sequence: 1 }, payloadOf(500, 3));
    bytes[HEADER_BYTES + 250] ^= 0x10;
    expect(() => decode(bytes)).toThrow(/CRC32 mismatch/);
  });

  it('detects a length that disagrees with the record', () => {
    const bytes = encode({ producerId: 0, sequence: 1 }, payloadOf(10, 3));
    expect(() => decode(bytes, 0, bytes.length - 1)).toThrow(/does not match/);
  });
});

describe('registry', () => {
  it('gives every unavailable backend a reason', () => {
    for (const b of unavailable) expect(b.available().reason).toBeTruthy();
  });
});

describe('payload CRC32', () => {
  it('agrees with zlib.crc32 on both paths (table for short payloads, zlib for long)', async () => {
    const { crc32 } = await import('node:zlib');
    const { payloadCrc, TABLE_CRC_MAX_BYTES } = await import('../wire/envelope.js');
    const bytes = payloadOf(70_000, 5);
    for (const length of [0, 1, 7, 64, TABLE_CRC_MAX_BYTES, TABLE_CRC_MAX_BYTES + 1, 4096, 65_536]) {
      for (const offset of [0, 8, 72]) expect(payloadCrc(bytes, offset, length)).toBe(crc32(bytes.subarray(offset, offset + length)));
    }
  });
});
