/**
 * What one message costs to write and read through each SPSC implementation on one thread, so
 * reports can explain the gap between `native` (JS calling N-API) and `native-threads` (no JS):
 * sab-spsc does the ring arithmetic inline, `native` does the same arithmetic behind four N-API
 * calls per message (claim, publish, peek, release).
 */
import type { QueueBackend } from '../../implementations/contract.js';
import { findQueueBackend } from '../../implementations/registry.js';
import { HEADER_BYTES } from '../../wire/envelope.js';
import type { BoundaryCost } from '../results/types.js';

function pushPopNs(backend: QueueBackend, rounds: number): number {
  const d = backend.create({ capacityBytes: 1 << 16, producers: 1, consumers: 1, maxMessageBytes: HEADER_BYTES });
  const producer = backend.producer(d, 0);
  const consumer = backend.consumer(d, 0);
  const visit = () => {};
  const once = () => {
    producer.claim(1, HEADER_BYTES);
    producer.commit();
    consumer.drain(1, visit);
  };
  for (let i = 0; i < 20_000; i++) once(); // let the JIT settle
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) once();
  const ns = Number(process.hrtime.bigint() - start) / rounds;
  producer.close();
  consumer.close();
  return ns;
}

export function measureBoundaryCost(rounds = 200_000): BoundaryCost {
  const js = pushPopNs(findQueueBackend('sab-spsc')!, rounds);
  const native = findQueueBackend('native')!;
  const availability = native.available();
  if (!availability.available) return { jsPushPopNs: js, note: `native unavailable: ${availability.reason}` };
  const napi = pushPopNs(native, rounds);
  return { jsPushPopNs: js, napiPushPopNs: napi, boundaryNs: napi - js };
}
