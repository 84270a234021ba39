// @ts-check
/**
 * A stress-test worker: sends or checks an exact number of messages through one backend, using
 * the compiled backends (dist/), on a real thread. Payload sizes and batch sizes vary with the
 * sequence number, so records of many sizes wrap the ring at many different offsets.
 */
import { parentPort, workerData } from 'node:worker_threads';

const dist = new URL('../../dist/', import.meta.url);
const { findBackend } = await import(new URL('implementations/registry.js', dist).href);
const { EnvelopeCodec, Flags, HEADER_BYTES, payloadCrc } = await import(new URL('wire/envelope.js', dist).href);
const { DeliveryCheck } = await import(new URL('harness/worker/delivery-check.js', dist).href);

/** @type {import('./worker-data.js').StressWorkerData} */
const { role, backendId, descriptor, index, count, producers, deadlineMs } = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const backend = findBackend(backendId);

/** Mostly small payloads, now and then a large one (up to 64 KiB). */
/** @param {number} batchNumber @param {number} producer */
export function payloadSize(batchNumber, producer) {
  const h = (batchNumber * 2654435761 + producer * 97) >>> 0;
  if (h % 211 === 0) return 8192 + (h % 57345);
  return h % 300;
}

function produce() {
  const producer = backend.producer(descriptor, index);
  let sent = 0;
  let batchNumber = 0;
  let codec = null;
  const deadline = Date.now() + deadlineMs;
  while (sent < count) {
    const size = payloadSize(batchNumber, index);
    const want = Math.min(1 + (batchNumber % 64), count - sent);
    const n = producer.claim(want, HEADER_BYTES + size);
    if (n === 0) {
      if (Date.now() > deadline) throw new Error(`producer ${index}: stuck at ${sent} of ${count}`);
      continue;
    }
    const bytes = producer.buffer;
    if (codec === null || codec.bytes !== bytes) codec = new EnvelopeCodec(bytes);
    for (let i = 0; i < n; i++) {
      const offset = producer.offsetOf(i);
      const seq = sent + i;
      const start = offset + HEADER_BYTES;
      for (let b = 0; b < size; b++) bytes[start + b] = (seq + b * 7 + index) & 0xff;
      if (size >= 4) codec.stampSequence(offset, seq);
      codec.writeHeader(offset, index, seq, 0, size, Flags.HAS_CRC, payloadCrc(bytes, start, size), 0);
    }
    producer.commit();
    sent += n;
    batchNumber++;
  }
  producer.close();
  return { sent };
}

function consume() {
  const consumer = backend.consumer(descriptor, index);
  const check = new DeliveryCheck(producers, true);
  /** @type {import('../../implementations/contract.js').MessageVisitor} */
  const visit = (bytes, offset, length) => void check.check(bytes, offset, length);
  const total = count * producers;
  const deadline = Date.now() + deadlineMs;
  let idle = 0;
  while (check.received < total) {
    if (consumer.drain(4096, visit) === 0 && (++idle & 0xfff) === 0 && Date.now() > deadline) break;
  }
  // Anything beyond the expected total is a duplicate the check must see too.
  const extra = consumer.drain(4096, visit);
  consumer.close();
  return { ...check.counts(), unique: check.unique, extra, problems: check.problems };
}

port.postMessage(role === 'producer' ? produce() : consume());
