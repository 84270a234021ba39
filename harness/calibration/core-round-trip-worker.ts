/** One side of the core round-trip probe (core-round-trip.ts). Side 0 times; side 1 answers. */
import { parentPort, workerData } from 'node:worker_threads';
import { nowNs } from '../metrics/clock.js';
import { BATCH_ROUND_TRIPS, BATCHES, type CoreRoundTripTask, DEADLINE_MS, READY, STOP, TURN, WARMUP_ROUND_TRIPS } from './core-round-trip.js';

const { control, side } = workerData as CoreRoundTripTask;
const words = new Int32Array(control);

/** Waits until TURN is `value`; false when the other side stopped first. */
function awaitTurn(value: number): boolean {
  while (Atomics.load(words, TURN) !== value) if (Atomics.load(words, STOP) !== 0) return false;
  return true;
}

Atomics.add(words, READY, 1);
while (Atomics.load(words, READY) !== 2 && Atomics.load(words, STOP) === 0);

if (side === 0) {
  const deadline = nowNs() + DEADLINE_MS * 1e6;
  const batches: number[] = [];
  let turn = 0;
  const trip = () => {
    Atomics.store(words, TURN, ++turn);
    return awaitTurn(++turn);
  };
  for (let i = 0; i < WARMUP_ROUND_TRIPS && nowNs() < deadline; i += 256) for (let k = 0; k < 256; k++) trip();
  while (batches.length < BATCHES && nowNs() < deadline) {
    const start = nowNs();
    for (let k = 0; k < BATCH_ROUND_TRIPS; k++) trip();
    batches.push((nowNs() - start) / BATCH_ROUND_TRIPS);
  }
  Atomics.store(words, STOP, 1);
  batches.sort((a, b) => a - b);
  parentPort!.postMessage(batches.length > 0 ? batches[batches.length >> 1] : undefined);
} else {
  for (let i = 0; ; i++) {
    if (!awaitTurn(2 * i + 1)) break;
    Atomics.store(words, TURN, 2 * i + 2);
  }
  parentPort!.postMessage(undefined);
}
