#!/usr/bin/env node
/**
 * The rings without the harness: one producer thread and one consumer thread, a fixed-size
 * message, and nothing else. No envelope, no CRC, no histogram, no clock per message: what is
 * left is the queue's own cost, and the two checks every figure here still passes.
 *
 *   producer: claim(batch, bytes) → fill each message (word copy of a template, then its
 *             sequence number in the first word) → commit
 *   consumer: drain(1024, visit) → visit compares the first word with the next expected sequence
 *
 * Every message arrived, in order, or the case fails (exit 1): the consumer counts mismatches,
 * and after the stop it drains until it has the producer's last sequence.
 *
 * Each ring backend runs through its queue contract (claim/commit, drain), exactly as the harness
 * drives it. ringbuf.js is run two ways, and every other ring is set beside both, round by round:
 *   - equal work (`ringbuf.js-raw`): ringbuf.js the way its README shows, at its best for this
 *     job, a plain pipe of fixed-size messages: the producer fills a batch in its own array and
 *     pushes it (one copy, the fast `set` path), the consumer pops into its own array (one copy)
 *     and reads the messages there. Both sides do what the rings' do: write all 16 (or 32) words
 *     of every message, read the first. The question it answers: is the ring faster than the
 *     best a user of ringbuf.js would write for fixed-size messages?
 *   - framed (`ringbuf-js`): the backend the harness runs, messages framed into ringbuf.js's byte
 *     stream so they can differ in size, as every queue of the project's contract must carry.
 *     The question: what does a queue for any message cost on ringbuf.js, against ours?
 * After each batch size, `X ÷ anchor (mode)` lines give the ratio within each round and its
 * median over the rounds (docs/rings.md says which to quote for what).
 *
 * usage: node scripts/bench-rings-bare.mjs [--backends a,b] [--bytes 64,128] [--batches 1,256]
 *                                          [--ms 1000] [--trials 3] [--json: { rows, ratios }]
 * (build first: npm run build). Figures are medians over trials, in messages per second.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { findQueueBackend } from '../dist/implementations/registry.js';

const RAW = 'ringbuf.js-raw';
/** The anchors every other ring is held against, and what each comparison measures (docs/rings.md). */
const ANCHORS = new Map([
  [RAW, 'equal work'],
  ['ringbuf-js', 'framed'],
]);
const CAPACITY = 1 << 20;
const DRAIN_MAX = 1024;
// Control words: [0] phase (0 warm-up, 1 measuring, 2 stop), [1] producer done, [2..3] sent (lo, hi).
const PHASE = 0;
const DONE = 1;
const SENT_LO = 2;
const SENT_HI = 3;

/** What the producer sent, published in two words (lo read unsigned: it may be ≥ 2^31). */
function sentTotal(ctl) {
  return (Atomics.load(ctl, SENT_LO) >>> 0) + Atomics.load(ctl, SENT_HI) * 2 ** 32;
}

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
}

function template(bytes) {
  const words = new Int32Array(bytes >> 2);
  for (let i = 0; i < words.length; i++) words[i] = (i * 0x9e3779b1) | 0;
  return words;
}

function runProducer({ backend, bytes, batch, queue, control }) {
  const ctl = new Int32Array(control);
  const tpl = template(bytes);
  const wordsPerMessage = bytes >> 2;
  let seq = 0;
  if (backend === RAW) {
    const ring = new RingBuffer(queue, Uint8Array);
    const staging = new Uint8Array(batch * bytes);
    const words = new Int32Array(staging.buffer);
    const need = batch * bytes;
    while (Atomics.load(ctl, PHASE) < 2) {
      if (ring.availableWrite() < need) continue;
      for (let i = 0; i < batch; i++) {
        const at = i * wordsPerMessage;
        for (let w = 1; w < wordsPerMessage; w++) words[at + w] = tpl[w];
        words[at] = seq + i;
      }
      ring.push(staging);
      seq += batch;
    }
  } else {
    const producer = findQueueBackend(backend).producer(queue, 0);
    let words = new Int32Array(producer.buffer.buffer);
    while (Atomics.load(ctl, PHASE) < 2) {
      const n = producer.claim(batch, bytes);
      if (n === 0) continue;
      // A backend that stages copies may hand out a new buffer for a claim (contract.ts).
      if (words.buffer !== producer.buffer.buffer) words = new Int32Array(producer.buffer.buffer);
      for (let i = 0; i < n; i++) {
        const at = producer.offsetOf(i) >> 2;
        for (let w = 1; w < wordsPerMessage; w++) words[at + w] = tpl[w];
        words[at] = seq + i;
      }
      producer.commit();
      seq += n;
    }
    producer.close();
  }
  return seq;
}

function runConsumer({ backend, bytes, queue, control }) {
  const ctl = new Int32Array(control);
  let expected = 0;
  let mismatches = 0;
  let atStart = 0;
  let atEnd = 0;
  let startNs = 0n;
  let endNs = 0n;
  let phase = 0;
  let drain;
  if (backend === RAW) {
    const ring = new RingBuffer(queue, Uint8Array);
    const into = new Uint8Array(ring.capacity() - (ring.capacity() % bytes));
    const words = new Int32Array(into.buffer);
    const wordsPerMessage = bytes >> 2;
    drain = () => {
      const got = ring.pop(into, Math.min(into.length, DRAIN_MAX * bytes));
      const n = got / bytes;
      for (let i = 0; i < n; i++) {
        if (words[i * wordsPerMessage] !== (expected | 0)) mismatches++;
        expected++;
      }
      return n;
    };
  } else {
    const consumer = findQueueBackend(backend).consumer(queue, 0);
    // A view per distinct buffer the backend hands out (rings: always the same one), found by
    // identity: a typed array's .buffer and .byteOffset are getters, too slow for every message.
    let seen = null;
    let view = null;
    let base = 0;
    const visit = (buffer, offset) => {
      if (buffer !== seen) {
        seen = buffer;
        view = new Int32Array(buffer.buffer);
        base = buffer.byteOffset;
      }
      if (view[(base + offset) >> 2] !== (expected | 0)) mismatches++;
      expected++;
    };
    drain = () => consumer.drain(DRAIN_MAX, visit);
  }
  for (;;) {
    const now = Atomics.load(ctl, PHASE);
    if (now !== phase) {
      if (now === 1) {
        atStart = expected;
        startNs = process.hrtime.bigint();
      } else if (now === 2) {
        atEnd = expected;
        endNs = process.hrtime.bigint();
      }
      phase = now;
    }
    const n = drain();
    if (n === 0 && phase === 2 && Atomics.load(ctl, DONE) === 1 && expected >= sentTotal(ctl)) break;
  }
  const sent = sentTotal(ctl);
  return { received: expected, sent, mismatches, window: atEnd - atStart, seconds: Number(endNs - startNs) / 1e9 };
}

/**
 * Core-to-core round trip: two threads hand a counter back and forth through one word. On a VM
 * whose vCPUs the host moves between physical cores, this is what changes from one minute to the
 * next, and every figure of a round moves with it: printed beside each round so a reader can see
 * which rounds ran on near cores and which on far ones.
 */
function bounce({ control, side }) {
  const word = new Int32Array(control);
  const rounds = 100_000;
  // Both threads running before the clock starts: thread start-up is not a round trip.
  Atomics.add(word, 1, 1);
  while (Atomics.load(word, 1) !== 2);
  const start = process.hrtime.bigint();
  for (let i = side; i < 2 * rounds; i += 2) {
    while (Atomics.load(word, 0) !== i);
    Atomics.store(word, 0, i + 1);
  }
  return Number(process.hrtime.bigint() - start) / rounds;
}

if (!isMainThread) {
  const task = workerData;
  if (task.role === 'bounce') {
    parentPort.postMessage(bounce(task));
  } else if (task.role === 'producer') {
    const sent = runProducer(task);
    const ctl = new Int32Array(task.control);
    Atomics.store(ctl, SENT_LO, (sent % 2 ** 32) | 0);
    Atomics.store(ctl, SENT_HI, Math.floor(sent / 2 ** 32));
    Atomics.store(ctl, DONE, 1);
    parentPort.postMessage({ sent });
  } else {
    parentPort.postMessage(runConsumer(task));
  }
} else {
  await main();
}

function createQueue(backend, bytes) {
  if (backend === RAW) {
    // The same byte capacity as the project's rings, a whole number of messages.
    return RingBuffer.getStorageForCapacity(CAPACITY - (CAPACITY % bytes), Uint8Array);
  }
  const b = findQueueBackend(backend);
  if (b === undefined) throw new Error(`unknown backend ${backend}`);
  return b.create({ capacityBytes: CAPACITY, producers: 1, consumers: 1, maxMessageBytes: bytes });
}

async function trial(backend, bytes, batch, ms) {
  const control = new SharedArrayBuffer(16);
  const ctl = new Int32Array(control);
  const queue = createQueue(backend, bytes);
  const url = new URL(import.meta.url);
  const start = (role) =>
    new Promise((resolve, reject) => {
      const w = new Worker(url, { workerData: { role, backend, bytes, batch, queue, control } });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const consumer = start('consumer');
  const producer = start('producer');
  await new Promise((r) => setTimeout(r, 300));
  Atomics.store(ctl, PHASE, 1);
  await new Promise((r) => setTimeout(r, ms));
  Atomics.store(ctl, PHASE, 2);
  const [, c] = await Promise.all([producer, consumer]);
  if (c.mismatches !== 0 || c.received !== c.sent) throw new Error(`${backend}: ${c.mismatches} out of order, ${c.received} of ${c.sent} received`);
  return c.window / c.seconds;
}

async function roundTripNs() {
  const control = new SharedArrayBuffer(8);
  const url = new URL(import.meta.url);
  const side = (n) =>
    new Promise((resolve, reject) => {
      const w = new Worker(url, { workerData: { role: 'bounce', control, side: n } });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const [a] = await Promise.all([side(0), side(1)]);
  return a;
}

async function main() {
  const list = (name, fallback) => option(name, fallback).split(',').filter(Boolean);
  const backends = list('backends', `sab-spsc,mpsc-cas,native,ringbuf-js,${RAW}`);
  const sizes = list('bytes', '64,128').map(Number);
  const batches = list('batches', '1,256').map(Number);
  const ms = Number(option('ms', '1000'));
  const trials = Number(option('trials', '3'));
  const json = process.argv.includes('--json');
  const rows = [];
  const ratios = [];
  for (const bytes of sizes)
    for (const batch of batches) {
      // Rounds: every backend once, then again. On a VM whose two vCPUs move between physical
      // cores, a figure swings 2× from one minute to the next; rounds put every backend in the
      // same minutes, so the ratio between two backends in one round is what can be trusted.
      const rates = new Map(backends.map((b) => [b, []]));
      const trips = [];
      for (let t = 0; t < trials; t++) {
        trips.push(await roundTripNs());
        for (const backend of backends) rates.get(backend).push(await trial(backend, bytes, batch, ms));
      }
      if (!json) console.log(`core-to-core round trip before each round: ${trips.map((x) => `${Math.round(x)} ns`).join(', ')}`);
      for (const backend of backends) {
        const row = { backend, bytes, batch, median: median(rates.get(backend)), trials: rates.get(backend), roundTripNs: trips };
        rows.push(row);
        if (!json)
          console.log(
            `${backend.padEnd(16)} ${String(bytes).padStart(4)} B  batch ${String(batch).padStart(3)}  ${(row.median / 1e6).toFixed(1).padStart(6)}M msg/s  [${row.trials.map((r) => (r / 1e6).toFixed(1)).join(', ')}]`,
          );
      }
      // Each ring against each anchor, round by round: two figures of one round share the cores'
      // placement, two of different rounds may not (a 2-3x swing on these VMs), so the ratio is
      // taken within each round and its median over the rounds is the figure to quote.
      for (const [anchor, mode] of ANCHORS) {
        if (!rates.has(anchor)) continue;
        for (const backend of backends) {
          if (ANCHORS.has(backend)) continue;
          const perRound = rates.get(backend).map((r, i) => r / rates.get(anchor)[i]);
          const ratio = { backend, anchor, mode, bytes, batch, perRound, median: median(perRound) };
          ratios.push(ratio);
          if (!json)
            console.log(`  ${backend} ÷ ${anchor} (${mode}): ${perRound.map((r) => r.toFixed(2)).join(', ')} by round, median ${ratio.median.toFixed(2)}×`);
        }
      }
    }
  if (json) console.log(JSON.stringify({ rows, ratios }, null, 2));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
