/**
 * The scenario file's schema (docs/scenario-file.md). Loaded scenarios are
 * normalised: durations in nanoseconds, sizes in bytes, rates per second, CPU in percent.
 */
import { z } from 'zod';
import { DURABILITIES } from '../../implementations/contract.js';
import { networkBackends } from '../../implementations/registry.js';
import { MAX_PAYLOAD_BYTES } from '../../wire/envelope.js';
import { type Parsed, parseCount, parseDuration, parsePercent, parseSize } from '../../wire/units.js';

function quantity(parse: (input: unknown) => Parsed, min = 0) {
  return z.unknown().transform((input, ctx) => {
    const parsed = parse(input);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.message });
      return z.NEVER;
    }
    if (parsed.value < min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${min}, got ${JSON.stringify(input)}` });
      return z.NEVER;
    }
    return parsed.value;
  });
}

const duration = (min = 0) => quantity(parseDuration, min);
const count = (min = 0) => quantity(parseCount, min);
const size = () => quantity(parseSize);
const percent = () => quantity(parsePercent);

/**
 * A matrix axis: a list, or one value as shorthand for a list of one. Values that mean the same
 * (`[0, 0B]`, `[null, null]`) are refused: they would make two cases with one id.
 */
function axis<T extends z.ZodTypeAny>(item: T) {
  return z.preprocess(
    (v) => (Array.isArray(v) ? v : [v]),
    z
      .array(item)
      .min(1, 'needs at least one value')
      .superRefine((values, ctx) => {
        const seen = new Set<unknown>();
        for (const v of values) {
          if (seen.has(v)) ctx.addIssue({ code: 'custom', message: `lists ${JSON.stringify(v)} twice (two cases would share one id)` });
          seen.add(v);
        }
      }),
  );
}

/** Ring positions and the post-message credit are Int32 byte counts: 1 GiB leaves them room. */
export const MAX_CAPACITY_BYTES = 2 ** 30;
/** Smaller queues are rounded up by every ring (it must hold two of the largest records). */
export const MIN_CAPACITY_BYTES = 1024;

const integer = (min: number, max: number) =>
  quantity(parseCount, min).refine((v) => Number.isInteger(v) && v <= max, { message: `must be a whole number from ${min} to ${max}` });

export const WAIT_STRATEGIES = ['spin', 'park', 'block'] as const;
export type WaitStrategyName = (typeof WAIT_STRATEGIES)[number];

export const WORKLOAD_KINDS = ['throughput', 'ping-pong', 'rate', 'fan-out', 'consumer-group'] as const;

/** Faults a consumer-group case can inject: `kill-member` ends member 0 abruptly halfway through the window. */
export const GROUP_FAULTS = ['kill-member'] as const;

const workload = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('throughput') }),
  z.strictObject({ kind: z.literal('ping-pong') }),
  z.strictObject({ kind: z.literal('rate'), rate: count(1) }),
  /** P publishers → one topic → S subscribers, each of which must get every message. */
  z.strictObject({ kind: z.literal('fan-out'), subscribers: integer(1, 64) }),
  /** P publishers → one topic → a group of C members sharing the messages. */
  z
    .strictObject({ kind: z.literal('consumer-group'), members: integer(1, 64), fault: z.enum(GROUP_FAULTS).optional() })
    .refine((w) => w.fault === undefined || w.members >= 2, {
      path: ['fault'],
      message: 'kill-member needs at least 2 members (one is killed, the others must take over its messages)',
    }),
]);

/** A server's address: `tcp://host:port`, several comma-separated for a cluster. */
export const SERVER_URL = /^tcp:\/\/(\[[^\]]+\]|[^:/,]+):\d{1,5}(,tcp:\/\/(\[[^\]]+\]|[^:/,]+):\d{1,5})*$/;

/**
 * `servers:` entries. `url`: a server (or cluster) someone else runs, measured instead of one the
 * harness starts. `nodes`: a local cluster of that many nodes the harness starts on loopback.
 */
const server = z
  .strictObject({
    url: z.string().regex(SERVER_URL, 'must be tcp://host:port (a cluster: several, comma-separated)').optional(),
    /** The token the server wants, if any. */
    token: z.string().min(1).optional(),
    nodes: integer(1, 9).optional(),
  })
  .refine((e) => (e.url === undefined) !== (e.nodes === undefined), {
    message: 'needs either url (a server someone else runs) or nodes (a local cluster the harness starts), not both',
  })
  .refine((e) => e.token === undefined || e.url !== undefined, { path: ['token'], message: 'goes with url (the harness starts its own servers without one)' });

export function scenarioSchema(knownBackends: readonly string[]) {
  // YAML reads a bare `null` as null; the backend of that name should not need quotes.
  const backend = z.preprocess(
    (v) => (v === null ? 'null' : v),
    z.string().refine((id) => knownBackends.includes(id), {
      error: (issue) => `unknown backend ${JSON.stringify(issue.input)} (known: ${knownBackends.join(', ')})`,
    }),
  );
  return z
    .strictObject({
      name: z.string().regex(/^[a-z0-9-]+$/, 'must be lowercase letters, digits and dashes ([a-z0-9-])'),
      description: z.string().optional(),
      duration: duration(1e6).default(2e9),
      warmup: duration().default(1e9),
      trials: integer(1, 1000).default(1),
      timeout: duration(1e6).default(30e9),
      /** `sequence`: ids, sequence numbers and lengths checked; `crc`: also the payload CRC32. */
      verify: z.enum(['sequence', 'crc']).default('sequence'),
      /**
       * Bytes of queue storage per queue, 1 KiB to 1 GiB. Rings round it up to a power of two that
       * holds two of the largest records; each trial records the capacity actually used.
       */
      capacity: size()
        .refine((v) => v >= MIN_CAPACITY_BYTES && v <= MAX_CAPACITY_BYTES, { message: `must be from 1KiB to 1GiB (the queues' limits)` })
        .default(1024 * 1024),
      /** `process`: each trial in a fresh Node process, so JIT and GC state cannot leak between trials. */
      fork: z.enum(['none', 'process']).default('none'),
      /**
       * `rounds`: trial 1 of every case, then trial 2 of every case, and so on, so each case's
       * trials are spread over the whole suite and see the machine's changing states as
       * separate samples; `cases`: a case's trials back to back.
       */
      order: z.enum(['rounds', 'cases']).default('rounds'),
      /** Pin producer and consumer threads to different cores (needs the native addon). */
      pin: z.boolean().default(false),
      /**
       * Fault injection: the consumer sleeps `duration` after every `every` messages, as a GC pause
       * or a slow handler would. Shows what coordinated omission hides (see the rate workload).
       */
      stall: z.strictObject({ every: count(1), duration: duration(1) }).optional(),
      matrix: z.strictObject({
        backend: axis(backend),
        payload: axis(
          size().refine((v) => Number.isInteger(v) && v <= MAX_PAYLOAD_BYTES, { message: `must be a whole number of bytes from 0 to ${MAX_PAYLOAD_BYTES}` }),
        ).default([0]),
        producers: axis(integer(1, 64)).default([1]),
        batch: axis(integer(1, 4096)).default([1]),
        wait: axis(z.enum(WAIT_STRATEGIES)).default(['spin']),
        /** When a message counts as stored: durable backends (wal) only; the others run `none`. */
        durability: axis(z.enum(DURABILITIES)).default(['none']),
      }),
      workloads: z.array(workload).min(1, 'needs at least one workload'),
      /** Backend id → a server to measure instead of starting one (network backends only). */
      servers: z.record(z.string(), server).optional(),
      slo: z
        .strictObject({
          p50: duration().optional(),
          p99: duration().optional(),
          p999: duration().optional(),
          throughput: count().optional(),
          rss: size().optional(),
          cpu: percent().optional(),
          /** Network backends: the CPU (all threads, % of one core) and peak RSS of the server the harness started. */
          'server-cpu': percent().optional(),
          'server-rss': size().optional(),
        })
        .optional(),
    })
    .superRefine((s, ctx) => {
      for (const [id, entry] of Object.entries(s.servers ?? {})) {
        const network = networkBackends.map((b) => b.id);
        const clustered = networkBackends.find((b) => b.id === id);
        if (network.includes(id) && (entry.nodes ?? 1) > 1 && clustered?.cluster === undefined) {
          const can = networkBackends.filter((b) => b.cluster !== undefined).map((b) => b.id);
          ctx.addIssue({
            code: 'custom',
            path: ['servers', id, 'nodes'],
            message: `${id} has no cluster mode (local clusters: ${can.join(', ') || 'none'})`,
          });
        }
        if (!network.includes(id)) {
          ctx.addIssue({
            code: 'custom',
            path: ['servers', id],
            message: knownBackends.includes(id)
              ? `${id} runs in this process and has no server (servers: is for ${network.join(', ')})`
              : `unknown backend ${JSON.stringify(id)} (backends with servers: ${network.join(', ')})`,
          });
        }
      }
      // Every trial runs warm-up, then the window, then drains: a timeout shorter than the first
      // two fails every case after spending the machine's time on it.
      if (s.timeout < s.warmup + s.duration) {
        ctx.addIssue({
          code: 'custom',
          path: ['timeout'],
          message: `must be longer than warmup + duration (${(s.warmup + s.duration) / 1e9}s), or every trial times out`,
        });
      }
    });
}

export type Scenario = z.output<ReturnType<typeof scenarioSchema>>;
export type Workload = Scenario['workloads'][number];
export type Slo = NonNullable<Scenario['slo']>;
