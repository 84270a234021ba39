import type { Consumer } from '../contract.js';

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
