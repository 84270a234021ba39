/** One side of the latency-floor probe (latency-floor.ts): as little code as a queue can have. */
import { workerData } from 'node:worker_threads';
import { nowNs } from '../metrics/clock.js';
import { bucketOf } from '../metrics/log-buckets.js';
import { HEAD, SLOT_COUNT, SLOTS_OFFSET, STOP, TAIL } from './latency-floor.js';

const { role, ring, counts, ratePerSec, durationMs, warmupMs } = workerData as {
  role: 'producer' | 'consumer';
  ring: SharedArrayBuffer;
  counts: SharedArrayBuffer;
  ratePerSec: number;
  durationMs: number;
  warmupMs: number;
};
const words = new Int32Array(ring);
const slots = new Float64Array(ring, SLOTS_OFFSET, SLOT_COUNT);
const pause = new Int32Array(new SharedArrayBuffer(4));

if (role === 'producer') {
  const interval = 1e9 / ratePerSec;
  const start = nowNs();
  const end = start + (warmupMs + durationMs) * 1e6;
  let sent = 0;
  for (;;) {
    const due = start + sent * interval;
    if (due >= end) break;
    const ahead = due - nowNs();
    if (ahead > 150_000) Atomics.wait(pause, 0, 0, (ahead - 110_000) / 1e6);
    if (ahead > 0) continue;
    if (sent - Atomics.load(words, HEAD) >= SLOT_COUNT) continue; // full: the consumer is behind
    slots[sent % SLOT_COUNT] = due;
    Atomics.store(words, TAIL, ++sent);
  }
  Atomics.store(words, STOP, 1);
} else {
  const histogram = new Float64Array(counts);
  const measureFrom = nowNs() + warmupMs * 1e6;
  let head = 0;
  for (;;) {
    const tail = Atomics.load(words, TAIL);
    if (tail === head) {
      if (Atomics.load(words, STOP) !== 0 && Atomics.load(words, TAIL) === head) break;
      continue;
    }
    const now = nowNs();
    for (; head < tail; head++) {
      const due = slots[head % SLOT_COUNT];
      if (due >= measureFrom) histogram[bucketOf(now - due)]++;
    }
    Atomics.store(words, HEAD, head);
  }
}
