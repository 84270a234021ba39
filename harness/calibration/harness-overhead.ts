/**
 * The harness's own cost per message, measured on one thread through the `null` backend: an
 * envelope written by the same writer the producer workers use and checked by the same delivery
 * check the consumers use, with no queue in between. Recorded in every result's environment;
 * the cross-thread figure comes from running `null` in a scenario.
 */

import { nullBackend } from '../../implementations/null/backend.js';
import { HEADER_BYTES } from '../../wire/envelope.js';
import type { HarnessOverhead } from '../results/types.js';
import { DeliveryCheck } from '../worker/delivery-check.js';
import { EnvelopeWriter, STAMP_NONE } from '../worker/envelope-writer.js';

function measure(batch: number, messages: number): number {
  const d = nullBackend.create({ capacityBytes: 1 << 20, producers: 1, consumers: 1, maxMessageBytes: HEADER_BYTES });
  const producer = nullBackend.producer(d, 0);
  const consumer = nullBackend.consumer(d, 0);
  const writer = new EnvelopeWriter({ producerId: 0, payload: 0, verifyCrc: false });
  const check = new DeliveryCheck(1, false);
  const visit = (bytes: Uint8Array, offset: number, length: number) => void check.check(bytes, offset, length);
  let seq = 0;
  const round = () => {
    const n = producer.claim(batch, HEADER_BYTES);
    writer.write(producer, n, seq, STAMP_NONE);
    producer.commit();
    seq += n;
    consumer.drain(batch, visit);
  };
  const rounds = Math.ceil(messages / batch);
  for (let i = 0; i < rounds; i++) round(); // warm the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) round();
  const ns = Number(process.hrtime.bigint() - start) / (rounds * batch);
  if (check.duplicated + check.reordered + check.corrupt > 0) throw new Error('harness overhead calibration saw delivery errors');
  return ns;
}

export function measureHarnessOverhead(): HarnessOverhead {
  return { perMessageNs: measure(1, 200_000), perMessageBatchedNs: measure(256, 1_000_000) };
}
