/**
 * `nanomq micro`: single-thread costs, measured with tinybench. Each task repeats its operation
 * OPS_PER_CALL times per call, so sub-microsecond operations are not lost in the timer's
 * resolution; figures are per operation.
 */

import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { Bench, type Task } from 'tinybench';
import { backends } from '../../implementations/registry.js';
import { EnvelopeCodec, encode, Flags, HEADER_BYTES } from '../../wire/envelope.js';
import { CLOCK_SOURCE, hrtimeNs, nowNs } from '../metrics/clock.js';
import { createHistogram, initHistograms } from '../metrics/histogram.js';
import { isMicroRing, RINGBUF_RAW, ringMicroNames } from './ring-micro.js';

export const OPS_PER_CALL = 1000;

export interface MicroResult {
  name: string;
  group: string;
  nsPerOp: number;
  /** Relative margin of error of the mean, in percent (95%). */
  rmePct: number;
  samples: number;
  /** Messages one operation moves (the ring benchmarks; absent for the others). */
  messagesPerOp?: number;
}

/**
 * `--filter`: comma-separated patterns, each a plain substring or a glob with `*`, matched
 * without regular expressions so that no pattern can make matching take exponential time.
 */
export function nameFilter(patterns: string): (name: string) => boolean {
  const globs = patterns
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
  const matches = (name: string, glob: string) => {
    const parts = glob.split('*');
    if (parts.length === 1) return name.includes(glob);
    // Each literal part in order, each found after the previous one: linear time.
    let at = 0;
    for (const part of parts) {
      const found = name.indexOf(part, at);
      if (found < 0) return false;
      at = found + part.length;
    }
    return true;
  };
  return (name) => globs.some((g) => matches(name.toLowerCase(), g));
}

export async function runMicroBenchmarks(options: { timeMs?: number; filter?: (name: string) => boolean } = {}): Promise<MicroResult[]> {
  await initHistograms();
  const bench = new Bench({ time: options.timeMs ?? 300, warmupTime: 100 });
  const groups = new Map<string, string>();
  const add = (group: string, name: string, fn: () => void) => {
    if (options.filter && !options.filter(name)) return;
    groups.set(name, group);
    bench.add(name, () => {
      for (let i = 0; i < OPS_PER_CALL; i++) fn();
    });
  };

  add('clock', `clock: nowNs (${CLOCK_SOURCE})`, () => void nowNs());
  add('clock', 'clock: process.hrtime.bigint → ns', () => void hrtimeNs());
  add('clock', 'clock: performance.now', () => void performance.now());

  const histogram = createHistogram(true);
  // A cheap pseudo-random value per record, so the histogram does not hit one bucket only.
  let v = 1;
  const nextValue = () => {
    v = (v * 1103515245 + 12345) & 0xfffff;
    return v;
  };
  add('histogram', 'HdrHistogram record (WebAssembly)', () => histogram.recordValue(nextValue()));
  const jsHistogram = createHistogram(false);
  add('histogram', 'HdrHistogram record (JavaScript)', () => jsHistogram.recordValue(nextValue()));

  const envelope = new Uint8Array(HEADER_BYTES + 64);
  const codec = new EnvelopeCodec(envelope);
  let seq = 0;
  add('envelope', 'envelope: write header', () => codec.writeHeader(0, 1, seq++, 123456789, 64, Flags.TIMESTAMPED, 0, 0));
  add('envelope', 'envelope: read header fields', () => void (codec.sequence(0) + codec.timestampNs(0) + codec.payloadLength(0)));
  add('envelope', 'envelope: encode 64 B payload (allocating, with CRC)', () => void encode({ producerId: 0, sequence: seq++ }, envelope.subarray(0, 64)));

  for (const size of [0, 64, 1024, 16384, 65536]) {
    const payload = new Uint8Array(size).fill(7);
    add('crc32', `crc32: ${size} B payload`, () => void crc32(payload));
  }

  await bench.run();
  const results = bench.tasks.map((task) => microResult(task, groups.get(task.name) ?? ''));
  histogram.destroy();

  // The rings, each in a thread of its own (ring-micro-worker.ts): their benchmarks share code,
  // and in one thread V8 would share its type feedback too, so every ring's calls would be
  // compiled for all of them (measured: sab-spsc 20% slower beside the others than alone).
  const rings = [...backends.filter((b) => b.available().available && isMicroRing(b)).map((b) => b.id), RINGBUF_RAW];
  for (const ring of rings) {
    const names = ringMicroNames(ring).filter((n) => !options.filter || options.filter(n.name));
    if (names.length > 0)
      results.push(
        ...(await runRingMicro(
          ring,
          names.map((n) => n.name),
          options.timeMs ?? 300,
        )),
      );
  }
  return results;
}

/** One tinybench task's figures, per operation. */
export function microResult(task: Task, group: string, messagesPerOp?: number): MicroResult {
  const r = task.result;
  if (r.state !== 'completed') return { name: task.name, group, nsPerOp: NaN, rmePct: NaN, samples: 0 };
  return {
    name: task.name,
    group,
    nsPerOp: (r.latency.mean * 1e6) / OPS_PER_CALL,
    rmePct: r.latency.rme,
    // Degrees of freedom + 1: tinybench keeps no sample array unless asked to.
    samples: r.latency.df + 1,
    ...(messagesPerOp !== undefined ? { messagesPerOp } : {}),
  };
}

function runRingMicro(ring: string, names: string[], timeMs: number): Promise<MicroResult[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./ring-micro-worker.js', import.meta.url), { workerData: { ring, names, timeMs } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}
