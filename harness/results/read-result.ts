/**
 * Reads a result file back, checking it is one (schema tag and the fields reports and compare
 * depend on). Extra fields pass through: newer writers may add figures.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RESULT_SCHEMA, type ResultFile } from './types.js';

const latency = z.looseObject({
  p50: z.number().optional(),
  p90: z.number().optional(),
  p99: z.number().optional(),
  p999: z.number().optional(),
  max: z.number(),
  count: z.number(),
  histogram: z.string(),
});

const correctness = z.object({
  sent: z.number(),
  received: z.number(),
  lost: z.number(),
  duplicated: z.number(),
  reordered: z.number(),
  corrupt: z.number(),
});

const figures = {
  msgsPerSec: z.number().optional(),
  bytesPerSec: z.number().optional(),
  latencyNs: latency.optional(),
  correctness: correctness.optional(),
};

export const resultFileSchema = z.looseObject({
  schema: z.literal(RESULT_SCHEMA),
  scenario: z.looseObject({ name: z.string() }),
  environment: z.looseObject({
    node: z.string(),
    v8: z.string(),
    os: z.string(),
    cpuModel: z.string(),
    cores: z.number(),
    memoryBytes: z.number(),
    gitCommit: z.string().nullable(),
    startedAt: z.string(),
    finishedAt: z.string().optional(),
    clock: z.object({ resolutionNs: z.number(), overheadNs: z.number() }),
  }),
  cases: z.array(
    z.looseObject({
      id: z.string(),
      backend: z.string(),
      workload: z.string(),
      params: z.looseObject({ payload: z.number(), producers: z.number(), batch: z.number(), wait: z.string() }),
      status: z.enum(['ok', 'failed', 'skipped']),
      reason: z.string().optional(),
      oversubscribed: z.boolean(),
      trials: z.array(z.looseObject({ trial: z.number(), status: z.enum(['ok', 'failed']), ...figures })),
      summary: z.looseObject({ ...figures, msgsPerSecCi95: z.tuple([z.number(), z.number()]).optional() }).optional(),
    }),
  ),
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
    throw new ResultFileError(`${path}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data as unknown as ResultFile;
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
