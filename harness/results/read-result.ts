/**
 * Reads a result file back, checking it is one (schema tag and the fields reports and compare
 * depend on). Extra fields pass through: newer writers may add figures.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DURABILITIES } from '../../implementations/contract.js';
import { GROUP_FAULTS, WAIT_STRATEGIES, WORKLOAD_KINDS } from '../scenario/schema.js';
import { RESULT_SCHEMA, type ResultFile } from './types.js';

/**
 * Every field that reports, compare and notebooks read is typed here, so a file that passes is
 * one they can render: a hand-edited or truncated file is refused at the door, naming the field,
 * instead of failing later with a TypeError (test/fuzz-input.test.ts breaks 1 000 files to check
 * it). Objects stay loose: newer writers may add figures, and readers ignore what they do not know.
 *
 * types.ts is the description of the file; this schema is its check, and the compiler keeps the
 * two together: parseResultFile returns the schema's output as a ResultFile with no cast, so a
 * field the type requires and the schema does not check (or checks more loosely than the type
 * says) is a type error here.
 */
const num = z.number().finite();
const count = num.min(0);
const text = z.string();
/** HdrHistogram's compressed base64: checked to be base64 here, decoded (and checked) when read. */
const histogram = z.string().regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'is not base64 (an HdrHistogram encoding)');

const latency = z.looseObject({
  p50: count.optional(),
  p90: count.optional(),
  p99: count.optional(),
  p999: count.optional(),
  max: count,
  count: count,
  histogram,
  warnings: z.array(text).optional(),
});

const correctness = z.looseObject({
  sent: count,
  received: count,
  lost: count,
  duplicated: count,
  reordered: count,
  corrupt: count,
});

const waitCounters = z.looseObject({ stalls: count, sleeps: count, wakes: count, timeouts: count });

const figures = {
  msgsPerSec: count.optional(),
  bytesPerSec: count.optional(),
  latencyNs: latency.optional(),
  serviceLatencyNs: latency.optional(),
  sendLagNs: latency.optional(),
  rate: z
    .looseObject({
      targetPerSec: count,
      achievedPerSec: count,
      shortfallPct: num,
      belowTarget: z.boolean(),
      unsentAtStop: count.optional(),
      inFlightAtStop: count.optional(),
    })
    .optional(),
  cpu: z
    .looseObject({
      producerPct: count.optional(),
      consumerPct: count.optional(),
      processPct: count.optional(),
      systemPct: count.optional(),
      otherPct: num.optional(),
      unavailable: text.optional(),
    })
    .optional(),
  memory: z.looseObject({ rssBytes: count, rssAtStartBytes: count.optional(), heapBytes: count, sharedBytes: count }).optional(),
  correctness: correctness.optional(),
  wait: z.looseObject({ producer: waitCounters, consumer: waitCounters }).optional(),
  backendCounters: z.record(z.string(), num).optional(),
  windowNs: count.optional(),
  scheduling: z
    .union([
      z.looseObject({
        producerRunDelayPct: count,
        consumerRunDelayPct: count,
        producerInvoluntarySwitches: count,
        consumerInvoluntarySwitches: count,
        producerVoluntarySwitches: count,
        consumerVoluntarySwitches: count,
      }),
      z.looseObject({ unavailable: text }),
    ])
    .optional(),
  gc: z.looseObject({ count: count, pauseNs: count }).optional(),
  server: z
    .looseObject({
      cpuPct: num.optional(),
      cpuSecondsPerMillionMessages: num.optional(),
      peakRssBytes: count.optional(),
      runDelayPct: num.optional(),
      nodes: count.optional(),
      unavailable: text.optional(),
    })
    .optional(),
};

const interval = z.tuple([num, num]);
const scenarioName = z.string().regex(/^[a-z0-9-]+$/, 'must be a scenario name ([a-z0-9-]+)');

/** A case's fields whatever became of it; `status` picks the rest (types.ts: OkCase, FailedCase, SkippedCase). */
const caseHeader = {
  id: text,
  backend: text,
  workload: z.enum(WORKLOAD_KINDS),
  params: z.looseObject({
    payload: count,
    producers: count,
    batch: count,
    wait: z.enum(WAIT_STRATEGIES),
    durability: z.enum(DURABILITIES).optional(),
    rate: count.optional(),
    subscribers: count.optional(),
    members: count.optional(),
    fault: z.enum(GROUP_FAULTS).optional(),
  }),
  oversubscribed: z.boolean(),
  noHeadroom: z.boolean().optional(),
  busyThreads: count.optional(),
  pinned: z.boolean().optional(),
  trials: z.array(
    z.looseObject({
      trial: count,
      status: z.enum(['ok', 'failed']),
      reason: text.optional(),
      pinned: z.boolean().optional(),
      pid: count.optional(),
      queueCapacityBytes: count.optional(),
      coreRoundTripNs: num.positive().optional(),
      followUp: z.boolean().optional(),
      ...figures,
    }),
  ),
};
const caseSummary = z.looseObject({
  ...figures,
  msgsPerSecCi95: interval.optional(),
  p99Ci95: interval.optional(),
  slo: z.record(z.string(), z.enum(['pass', 'fail'])).optional(),
  schedulerBound: z.boolean().optional(),
  trials: count,
});
const caseResult = z.discriminatedUnion('status', [
  z.looseObject({ ...caseHeader, status: z.literal('ok'), reason: z.never().optional(), summary: caseSummary }),
  z.looseObject({ ...caseHeader, status: z.literal('failed'), reason: text, summary: caseSummary.optional() }),
  z.looseObject({ ...caseHeader, status: z.literal('skipped'), reason: text, summary: caseSummary.optional() }),
]);

export const resultFileSchema = z.looseObject({
  schema: z.literal(RESULT_SCHEMA),
  scenario: z.looseObject({
    name: scenarioName,
    description: text.optional(),
    file: text.optional(),
    duration: count,
    warmup: count,
    trials: count,
    timeout: count,
    verify: z.enum(['sequence', 'crc']),
    capacity: count,
    fork: z.enum(['none', 'process']),
    // Files written before trial order was a setting ran each case's trials back to back.
    order: z.enum(['rounds', 'cases']).default('cases'),
    pin: z.boolean(),
    matrix: z.looseObject({
      backend: z.array(text),
      payload: z.array(count),
      producers: z.array(count),
      batch: z.array(count),
      wait: z.array(z.enum(WAIT_STRATEGIES)),
      // Files written before the log existed have no durability axis: they ran `none`.
      durability: z.array(z.enum(DURABILITIES)).default(['none']),
    }),
    workloads: z.array(
      z.discriminatedUnion('kind', [
        z.looseObject({ kind: z.literal('throughput') }),
        z.looseObject({ kind: z.literal('ping-pong') }),
        z.looseObject({ kind: z.literal('rate'), rate: count }),
        z.looseObject({ kind: z.literal('fan-out'), subscribers: count }),
        z.looseObject({ kind: z.literal('consumer-group'), members: count, fault: z.enum(GROUP_FAULTS).optional() }),
      ]),
    ),
    servers: z.record(z.string(), z.looseObject({ url: text.optional(), token: text.optional(), nodes: count.optional() })).optional(),
    slo: z.record(z.string(), num).optional(),
  }),
  environment: z.looseObject({
    node: text,
    v8: text,
    os: text,
    cpuModel: text,
    cores: count,
    memoryBytes: count,
    gitCommit: text.nullable(),
    startedAt: text,
    finishedAt: text.optional(),
    clock: z.looseObject({ resolutionNs: num, overheadNs: num, offsetErrorNs: num.optional() }),
    boundary: z.looseObject({ jsPushPopNs: num, napiPushPopNs: num.optional(), boundaryNs: num.optional(), note: text.optional() }),
    harnessOverhead: z.looseObject({ perMessageNs: num, perMessageBatchedNs: num }),
    schedulerNoise: z.looseObject({ spinMs: num, gaps: count, lostPct: num, maxGapNs: num }).optional(),
    warnings: z.array(text),
    machineBefore: z.looseObject({ cpuBusyPct: count, loadAverage: z.tuple([count, count, count]), freeMemoryBytes: count }).optional(),
    latencyFloor: z
      .looseObject({ ratePerSec: count, durationMs: count, samples: count, p50: count, p99: count, p999: count, max: count, method: text })
      .optional(),
    networkFloor: z.looseObject({ roundTrips: count, p50: num, p90: num, p99: num, method: text }).optional(),
    serverCeilings: z.array(z.looseObject({ server: text, payload: count, msgsPerSec: num, runs: z.array(num), method: text })).optional(),
    diskSync: z
      .looseObject({
        dir: text,
        samples: count,
        fdatasyncNs: z.looseObject({ p50: num, p99: num, max: num }),
        sequentialWriteBytesPerSec: num,
        sequentialSyncedBytesPerSec: num,
        method: text,
      })
      .optional(),
    servers: z
      .record(
        z.string(),
        z.looseObject({
          backend: text.optional(),
          durability: text.optional(),
          url: text,
          description: text,
          startedByHarness: z.boolean(),
          pid: count.optional(),
          pids: z.array(count).optional(),
        }),
      )
      .optional(),
  }),
  followUp: z.looseObject({ against: text, trials: count, cases: z.array(z.looseObject({ id: text, why: text, added: count })) }).optional(),
  ab: z.looseObject({ side: z.enum(['a', 'b']), build: text, other: text }).optional(),
  cases: z.array(caseResult),
});

export class ResultFileError extends Error {}

export function parseResultFile(text: string, path: string): ResultFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ResultFileError(`${path}: not JSON (${(error as Error).message})`);
  }
  const tag = (data as { schema?: unknown } | null)?.schema;
  if (tag !== RESULT_SCHEMA) throw new ResultFileError(`${path}: schema is ${JSON.stringify(tag)}, expected ${JSON.stringify(RESULT_SCHEMA)}`);
  const parsed = resultFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problem(s))` : '';
    throw new ResultFileError(`${path}: ${issue.path.join('.') || '(top level)'}: ${issue.message.split('\n')[0]}${more}`);
  }
  return parsed.data;
}

export function readResultFile(path: string): ResultFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ResultFileError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseResultFile(text, path);
}
