/**
 * `nanomq micro`: single-thread costs, measured with tinybench. Each task repeats its operation
 * OPS_PER_CALL times per call, so sub-microsecond operations are not lost in the timer's
 * resolution; figures are per operation.
 */

import { crc32 } from 'node:zlib';
import { Bench } from 'tinybench';
import { backends } from '../../implementations/registry.js';
import { EnvelopeCodec, encode, Flags, HEADER_BYTES } from '../../wire/envelope.js';
import { CLOCK_SOURCE, hrtimeNs, nowNs } from '../metrics/clock.js';
import { createHistogram, initHistograms } from '../metrics/histogram.js';
import { isMicroRing, ringbufRawMicroTasks, ringMicroTasks } from './ring-micro.js';

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
  const messagesPerOp = new Map<string, number>();
  const add = (group: string, name: string, fn: () => void, messages?: number) => {
    if (options.filter && !options.filter(name)) return;
    groups.set(name, group);
    if (messages !== undefined) messagesPerOp.set(name, messages);
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

  for (const backend of backends) {
    if (!backend.available().available || !isMicroRing(backend)) continue;
    for (const task of ringMicroTasks(backend)) add('ring', task.name, task.run, task.messages);
  }
  for (const task of ringbufRawMicroTasks()) add('ring', task.name, task.run, task.messages);

  await bench.run();
  const results: MicroResult[] = [];
  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state !== 'completed') {
      results.push({ name: task.name, group: groups.get(task.name) ?? '', nsPerOp: NaN, rmePct: NaN, samples: 0 });
      continue;
    }
    results.push({
      name: task.name,
      group: groups.get(task.name) ?? '',
      nsPerOp: (r.latency.mean * 1e6) / OPS_PER_CALL,
      rmePct: r.latency.rme,
      // Degrees of freedom + 1: tinybench keeps no sample array unless asked to.
      samples: r.latency.df + 1,
      ...(messagesPerOp.has(task.name) ? { messagesPerOp: messagesPerOp.get(task.name) } : {}),
    });
  }
  histogram.destroy();
  return results;
}
