/**
 * The C++ side mirrors some TypeScript constants on purpose: the native ring shares sab-spsc's
 * memory layout and record framing, the addon's self-driven threads write the harness envelope,
 * follow the coordinator's phases and fill the same latency buckets. Each mirror is marked in
 * its file; this test holds every mirrored constant equal, so changing one side alone fails here
 * instead of as corrupt messages or a hung trial.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LINEAR_BUCKETS, MAGNITUDES, SUB_BUCKETS } from '../harness/metrics/log-buckets.js';
import { TIMESTAMP_EVERY } from '../harness/results/method.js';
import { DRAIN_GRACE_NS } from '../harness/worker/after-stop.js';
import { Phase } from '../harness/worker/control.js';
import { DATA_OFFSET, HEAD, NOT_EMPTY, NOT_FULL, PeerMode, TAIL } from '../implementations/sab-spsc/layout.js';
import { ZERO_FROM_BYTES, ZERO_MAX_RECORD_BYTES } from '../implementations/sab-spsc/ring.js';
import { RecordType, RING_RECORD_HEADER_BYTES } from '../implementations/shared/ring/records.js';
import { META_CAPACITY, META_PEER_MODE } from '../implementations/shared/ring/ring-memory.js';
import { Flags, HEADER_BYTES, MAGIC } from '../wire/envelope.js';

function cppConstants(file: string): Map<string, number> {
  const text = readFileSync(new URL(file.startsWith('wire/') ? `../${file}` : `../implementations/native/src/${file}`, import.meta.url), 'utf8');
  const constants = new Map<string, number>();
  for (const m of text.matchAll(/constexpr\s+[\w:]+\s+(k\w+)\s*=\s*([^;]+);/g)) {
    const value = m[2].trim().replace(/ull$|u$/, '');
    const expression = /^[\d\sx+*/()a-fA-F-]+$/.test(value) ? value : undefined;
    if (expression !== undefined) constants.set(m[1], Number(Function(`"use strict"; return (${expression});`)()));
  }
  return constants;
}

describe('C++ mirrors of TypeScript constants', () => {
  it('spsc_ring.hpp: the sab-spsc layout and the record framing', () => {
    const cpp = cppConstants('spsc_ring.hpp');
    expect(Object.fromEntries(cpp)).toMatchObject({
      kMetaCapacity: META_CAPACITY,
      kMetaPeerMode: META_PEER_MODE,
      kTail: TAIL,
      kHead: HEAD,
      kNotEmpty: NOT_EMPTY,
      kNotFull: NOT_FULL,
      kDataOffset: DATA_OFFSET,
      kZeroFromBytes: ZERO_FROM_BYTES,
      kZeroMaxRecordBytes: ZERO_MAX_RECORD_BYTES,
      kRecordHeader: RING_RECORD_HEADER_BYTES,
      kMessage: RecordType.MESSAGE,
      kPadding: RecordType.PADDING,
      kPeerModeJavaScript: PeerMode.JAVASCRIPT,
      kPeerModeNativeOnly: PeerMode.NATIVE_ONLY,
    });
  });

  it('wire/envelope.hpp: the envelope header', () => {
    expect(Object.fromEntries(cppConstants('wire/envelope.hpp'))).toMatchObject({ kHeaderBytes: HEADER_BYTES, kMagic: MAGIC, kTimestamped: Flags.TIMESTAMPED });
  });

  it('threads.hpp: phases, the timestamp interval, the drain grace and the latency buckets', () => {
    expect(Object.fromEntries(cppConstants('threads.hpp'))).toMatchObject({
      kPhaseWarmup: Phase.WARMUP,
      kPhaseMeasure: Phase.MEASURE,
      kPhaseStop: Phase.STOP,
      kTimestampEvery: TIMESTAMP_EVERY,
      kDrainGraceNs: DRAIN_GRACE_NS,
      kLinear: LINEAR_BUCKETS,
      kSub: SUB_BUCKETS,
      kMagnitudes: MAGNITUDES,
    });
  });

  it('reads the constants it compares (a renamed C++ constant cannot pass unnoticed)', () => {
    // toMatchObject fails on a missing key too; this also checks the parser found them at all.
    expect(cppConstants('spsc_ring.hpp').size).toBeGreaterThanOrEqual(12);
    expect(cppConstants('threads.hpp').get('kDrainGraceNs')).toBe(2e9);
  });
});
