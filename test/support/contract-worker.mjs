// @ts-check
/**
 * Contract edge cases run on a worker thread, so a backend that deadlocks (a lock left held, a
 * consumer stuck behind a claim nobody will commit) fails its test by timing out instead of
 * hanging the test runner: Atomics.wait on the runner's own thread could never be interrupted.
 */
import { parentPort, workerData } from 'node:worker_threads';

const dist = new URL('../../dist/', import.meta.url);
const { findBackend } = await import(new URL('implementations/registry.js', dist).href);
const { encode, decode, MAX_ENVELOPE_BYTES } = await import(new URL('wire/envelope.js', dist).href);

/** @type {import('./worker-data.js').ContractWorkerData} */
const { job, backendId } = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const backend = findBackend(backendId);
const manyProducers = backend.traits.maxProducers >= 2;

/** Queues this job made, freed when it ends (the log's directory). @type {import('../../implementations/contract.js').QueueDescriptor[]} */
const made = [];

function open(producers = 1) {
  const d = backend.create({ capacityBytes: 256 * 1024, producers, consumers: 1, maxMessageBytes: MAX_ENVELOPE_BYTES });
  made.push(d);
  /** @type {(role: 'producer' | 'consumer', i: number) => import('../../implementations/contract.js').QueueDescriptor} */
  const part = (role, i) => backend.select?.(d, role, i) ?? d;
  return { d, part };
}

/** @param {import('../../implementations/contract.js').Consumer} consumer */
function sequences(consumer, max = 1 << 20) {
  /** @type {number[]} */
  const out = [];
  while (consumer.drain(max, (b, o, l) => out.push(decode(b, o, l).header.sequence)) > 0);
  return out;
}

/** @param {import('../../implementations/contract.js').Producer} producer @param {number} from @param {number} count */
function write(producer, from, count, producerId = 0) {
  for (let s = from; s < from + count; s++) if (!producer.tryWrite(encode({ producerId, sequence: s }))) throw new Error(`full at ${s}`);
}

const jobs = {
  /** A visitor throws at the 4th message of drain(10): 3 consumed, the 4th stays first in line. */
  'throwing-visitor'() {
    const { part } = open();
    const producer = backend.producer(part('producer', 0), 0);
    const consumer = backend.consumer(part('consumer', 0), 0);
    write(producer, 0, 10);
    /** @type {number[]} */
    const visited = [];
    let thrown = null;
    try {
      consumer.drain(10, (/** @type {Uint8Array} */ b, /** @type {number} */ o, /** @type {number} */ l) => {
        const seq = decode(b, o, l).header.sequence;
        if (seq === 3) throw new Error('visitor failed');
        visited.push(seq);
      });
    } catch (error) {
      thrown = /** @type {Error} */ (error).message;
    }
    // The queue must still work from both ends: a lock left held would hang here.
    write(producer, 10, 2);
    const after = sequences(consumer);
    // tryRead with a destination too small throws and keeps the message.
    write(producer, 12, 1);
    let small = null;
    try {
      consumer.tryRead(new Uint8Array(8));
    } catch (error) {
      small = /** @type {Error} */ (error).name;
    }
    const last = sequences(consumer);
    return { thrown, visited, after, small, last };
  },

  /** A producer closes with a claim open: nothing of it is delivered, and the queue goes on. */
  'close-with-open-claim'() {
    const { part } = open(manyProducers ? 2 : 1);
    const consumer = backend.consumer(part('consumer', 0), 0);
    const first = backend.producer(part('producer', 0), 0);
    write(first, 0, 2, 0);
    const n = first.claim(3, encode({ producerId: 0, sequence: 0 }).length);
    for (let i = 0; i < n; i++) first.buffer.set(encode({ producerId: 0, sequence: 100 + i }), first.offsetOf(i));
    first.close();
    const second = manyProducers ? backend.producer(part('producer', 1), 1) : backend.producer(part('producer', 0), 0);
    write(second, 2, 3, manyProducers ? 1 : 0);
    return { claimed: n, delivered: sequences(consumer) };
  },

  /** A second claim before commit is refused; the first claim still commits whole. */
  'second-claim'() {
    const { part } = open();
    const producer = backend.producer(part('producer', 0), 0);
    const consumer = backend.consumer(part('consumer', 0), 0);
    const length = encode({ producerId: 0, sequence: 0 }).length;
    const n = producer.claim(2, length);
    for (let i = 0; i < n; i++) producer.buffer.set(encode({ producerId: 0, sequence: i }), producer.offsetOf(i));
    let error = null;
    try {
      producer.claim(1, length);
    } catch (e) {
      error = /** @type {Error} */ (e).name;
    }
    producer.commit();
    const delivered = sequences(consumer);
    // And after the commit, claiming works again.
    write(producer, 2, 1);
    return { claimed: n, error, delivered, after: sequences(consumer) };
  },

  /** An aborted claim is never delivered and its space comes back. */
  abort() {
    const { part } = open();
    const producer = backend.producer(part('producer', 0), 0);
    const consumer = backend.consumer(part('consumer', 0), 0);
    const length = encode({ producerId: 0, sequence: 0 }).length;
    let rounds = 0;
    // Far more than the queue holds: aborted space must be reusable.
    for (; rounds < 20_000; rounds++) {
      const n = producer.claim(8, length);
      if (n === 0) sequences(consumer);
      else producer.abort();
    }
    write(producer, 0, 3);
    return { delivered: sequences(consumer) };
  },
};

// Freed before answering: the runner terminates this thread as soon as the answer arrives.
let answer;
try {
  answer = jobs[/** @type {keyof typeof jobs} */ (job)]();
} finally {
  for (const d of made) backend.destroy?.(d);
}
port.postMessage(answer);
