import type { Consumer, Producer } from '../../contract.js';

/**
 * `tryWrite` for any backend: claim one record, copy the message in, commit. False when full;
 * a message that can never fit makes `claim` throw. `buffer` is read after the claim, since a
 * backend may hand out a new one per claim (post-message).
 */
export function writeOneFrom(producer: Pick<Producer, 'claim' | 'buffer' | 'offsetOf' | 'commit'>, message: Uint8Array): boolean {
  if (producer.claim(1, message.length) === 0) return false;
  producer.buffer.set(message, producer.offsetOf(0));
  producer.commit();
  return true;
}

/**
 * `tryRead` for any backend: drain one message and copy it out. Returns its length, or -1 when
 * the queue is empty; a destination too small is the caller's mistake (RangeError), and the
 * message is then left in the queue.
 */
export function readOneInto(consumer: Pick<Consumer, 'drain'>, destination: Uint8Array): number {
  let length = -1;
  consumer.drain(1, (bytes, offset, len) => {
    if (len > destination.length) throw new RangeError(`destination of ${destination.length} bytes is too small for a ${len}-byte message`);
    destination.set(bytes.subarray(offset, offset + len));
    length = len;
  });
  return length;
}
