// @ts-check
/**
 * Workers for the mutex tests: increment a shared counter non-atomically under the lock, or
 * play one side of the tight blocking hand-off.
 */
import { parentPort, workerData } from 'node:worker_threads';

const dist = new URL('../../dist/', import.meta.url);
const { SharedMutex } = await import(new URL('implementations/mutex/lock.js', dist).href);
const { findBackend } = await import(new URL('implementations/registry.js', dist).href);
const { encode } = await import(new URL('wire/envelope.js', dist).href);

/** @type {import('./worker-data.js').MutexWorkerData} */
const data = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

if (data.job === 'increment') {
  const { memory, lockIndex, counterIndex, barrierIndex, workers, iterations } = data;
  const words = new Int32Array(memory);
  const mutex = new SharedMutex(words, lockIndex);
  // Start together: threads start one by one, and a short run could finish before the next starts.
  Atomics.add(words, barrierIndex, 1);
  while (Atomics.load(words, barrierIndex) < workers);
  let sink = 0;
  for (let i = 0; i < iterations; i++) {
    mutex.lock();
    // Read, dawdle, write: without mutual exclusion, increments are lost.
    const value = words[counterIndex];
    for (let k = 0; k < 20; k++) sink += k;
    words[counterIndex] = value + 1;
    mutex.unlock();
  }
  port.postMessage({ sink, contended: mutex.contended, sleeps: mutex.sleeps });
}

// Tight hand-off for the lost-wake-up test: a tiny queue, both sides as fast as they can go, and
// each side sleeps (block strategy) whenever it finds the queue empty (consumer) or full
// (producer), with a short timeout. A correct queue always wakes a sleeper; a lost wake-up shows
// as a timed-out sleep. `stop` (a shared word) ends both sides early once one has given up.
if (data.job === 'tight-consumer' || data.job === 'tight-producer') {
  const { job, descriptor, rounds, backendId, timeoutMs, stop, maxTimeouts } = data;
  const stopWord = new Int32Array(stop);
  const outcomes = { woken: 0, 'timed-out': 0, 'not-needed': 0, done: 0 };
  const deadline = Date.now() + 60_000;
  const tooMany = () => outcomes['timed-out'] >= maxTimeouts || Atomics.load(stopWord, 0) !== 0 || Date.now() > deadline;
  if (job === 'tight-consumer') {
    const consumer = findBackend(backendId).consumer(descriptor, 0);
    while (outcomes.done < rounds && !tooMany()) {
      const n = consumer.drain(1, () => {});
      if (n > 0) outcomes.done += n;
      else outcomes[/** @type {import('../../implementations/contract.js').WaitOutcome} */ (consumer.awaitData(timeoutMs))]++;
    }
    consumer.close();
  } else {
    const producer = findBackend(backendId).producer(descriptor, 0);
    const message = encode({ producerId: 0, sequence: 0 });
    while (outcomes.done < rounds && !tooMany()) {
      if (producer.tryWrite(message)) outcomes.done++;
      else outcomes[/** @type {import('../../implementations/contract.js').WaitOutcome} */ (producer.awaitSpace(timeoutMs))]++;
    }
    producer.close();
  }
  // Only a side that gave up stops the other: one that finished leaves its peer to finish.
  if (outcomes.done < rounds) Atomics.store(stopWord, 0, 1);
  port.postMessage(outcomes);
}
