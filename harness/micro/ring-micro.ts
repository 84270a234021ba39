/**
 * Single-thread costs of the rings, for `nanomq micro`: one thread writes and then reads, so no
 * cache line moves between cores and what is left is each ring's own instructions.
 *
 *   write + read one 64 B message:  claim(1) → fill → commit → drain(1)
 *   write 256 × 64 B + drain:       claim(256) → fill each → commit → drain until 256 are read
 *
 * "fill" is the same for every ring: the message's 16 words copied from a template, its
 * sequence number in the first; the drain's visitor reads that word back, as a consumer that
 * checks order would. `ringbuf.js raw` is ringbuf.js at its best, as in the bare two-thread loop
 * (scripts/bench-rings-bare.mjs): fixed-size messages without framing, filled in the producer's
 * own array, pushed with one copy and popped with another.
 */
import { RingBuffer } from 'ringbuf.js';
import type { MessageVisitor, QueueBackend } from '../../implementations/contract.js';

export const MESSAGE_BYTES = 64;
export const BATCH = 256;
/** The name ringbuf.js used directly goes by (it is no backend). */
export const RINGBUF_RAW = 'ringbuf.js raw';

/** The benchmarks of one ring (a backend id, or RINGBUF_RAW), by name, before any is built. */
export function ringMicroNames(ring: string): { name: string; messages: number }[] {
  return [
    { name: `${ring}: write + read one ${MESSAGE_BYTES} B message`, messages: 1 },
    { name: `${ring}: write ${BATCH} × ${MESSAGE_BYTES} B + drain`, messages: BATCH },
  ];
}

/** One micro-benchmark: its name, how many messages one call moves, and the call. */
export interface RingMicroTask {
  readonly name: string;
  readonly messages: number;
  readonly run: () => void;
}

const TEMPLATE = new Int32Array(MESSAGE_BYTES >> 2).map((_, i) => (i * 0x9e3779b1) | 0);

function fill(words: Int32Array, at: number, seq: number): void {
  for (let w = 1; w < TEMPLATE.length; w++) words[at + w] = TEMPLATE[w];
  words[at] = seq;
}

/** The backends measured here: in-process rings in shared memory that carry bytes. */
export function isMicroRing(backend: QueueBackend): boolean {
  const t = backend.traits;
  return t.sharedMemory && t.carriesBytes !== false && !t.selfDriven && !t.durable && !t.network;
}

export function ringMicroTasks(backend: QueueBackend): RingMicroTask[] {
  const d = backend.create({ capacityBytes: 1 << 20, producers: 1, consumers: 1, maxMessageBytes: MESSAGE_BYTES });
  const producer = backend.producer(backend.select?.(d, 'producer', 0) ?? d, 0);
  const consumer = backend.consumer(backend.select?.(d, 'consumer', 0) ?? d, 0);
  let seq = 0;
  let read = 0;
  let mismatches = 0;
  let view: Int32Array = new Int32Array(0);
  let words: Int32Array = new Int32Array(0);
  const visit: MessageVisitor = (buffer, offset) => {
    if (view.buffer !== buffer.buffer) view = new Int32Array(buffer.buffer);
    if (view[(buffer.byteOffset + offset) >> 2] !== (read | 0)) mismatches++;
    read++;
  };
  const write = (count: number) => {
    let written = 0;
    while (written < count) {
      const n = producer.claim(count - written, MESSAGE_BYTES);
      if (n === 0) throw new Error(`${backend.id}: full with ${written} of ${count} written in a ring of 1 MiB`);
      const buffer = producer.buffer;
      // A backend may hand out a new buffer for a claim (contract.ts); a view per claim would be garbage.
      if (words.buffer !== buffer.buffer) words = new Int32Array(buffer.buffer);
      for (let i = 0; i < n; i++) fill(words, (buffer.byteOffset + producer.offsetOf(i)) >> 2, seq++);
      producer.commit();
      written += n;
    }
  };
  const readAll = (count: number) => {
    let got = 0;
    while (got < count) {
      const n = consumer.drain(count - got, visit);
      if (n === 0) throw new Error(`${backend.id}: ${got} of ${count} messages came back`);
      got += n;
    }
    if (mismatches !== 0) throw new Error(`${backend.id}: ${mismatches} messages out of order`);
  };
  const [one, batch] = ringMicroNames(backend.id);
  return [
    {
      ...one,
      run: () => {
        write(1);
        readAll(1);
      },
    },
    {
      ...batch,
      run: () => {
        write(BATCH);
        readAll(BATCH);
      },
    },
  ];
}

/** ringbuf.js used directly (no framing, no contract): the reference the rings are held against. */
export function ringbufRawMicroTasks(): RingMicroTask[] {
  const capacity = (1 << 20) - ((1 << 20) % MESSAGE_BYTES);
  const ring = new RingBuffer(RingBuffer.getStorageForCapacity(capacity, Uint8Array), Uint8Array);
  const wordsPerMessage = MESSAGE_BYTES >> 2;
  const task = (count: number) => {
    const staging = new Uint8Array(count * MESSAGE_BYTES);
    const stagingWords = new Int32Array(staging.buffer);
    const into = new Uint8Array(count * MESSAGE_BYTES);
    const intoWords = new Int32Array(into.buffer);
    let seq = 0;
    let read = 0;
    return () => {
      for (let i = 0; i < count; i++) fill(stagingWords, i * wordsPerMessage, seq++);
      if (ring.push(staging) !== staging.length) throw new Error('ringbuf.js raw: push fell short');
      const got = ring.pop(into) / MESSAGE_BYTES;
      for (let i = 0; i < got; i++) if (intoWords[i * wordsPerMessage] !== (read++ | 0)) throw new Error('ringbuf.js raw: out of order');
    };
  };
  const [one, batch] = ringMicroNames(RINGBUF_RAW);
  return [
    { ...one, run: task(1) },
    { ...batch, run: task(BATCH) },
  ];
}
