/**
 * Quantities written as a person would: `2s`, `500ms`, `10us`, `1M`, `500k`, `64KiB`, `30%`.
 * Each parser returns a number in one canonical unit or a message saying what was expected.
 */
export type Parsed = { ok: true; value: number } | { ok: false; message: string };

const NUMBER = String.raw`(\d+(?:\.\d+)?(?:e[+-]?\d+)?)`;

function parseWith(input: unknown, units: Record<string, number>, bareUnit: number | null, what: string, example: string): Parsed {
  if (typeof input === 'number' && bareUnit !== null) {
    return Number.isFinite(input) && input >= 0 ? { ok: true, value: input * bareUnit } : { ok: false, message: `expected ${what} ≥ 0, got ${input}` };
  }
  if (typeof input !== 'string') return { ok: false, message: `expected ${what} like ${example}, got ${JSON.stringify(input)}` };
  const match = new RegExp(`^${NUMBER}\\s*([a-zA-Zµ%]*)$`).exec(input.trim());
  if (match) {
    const unit = match[2];
    const scale = unit === '' ? bareUnit : units[unit];
    if (scale !== undefined && scale !== null) return { ok: true, value: Number(match[1]) * scale };
  }
  return { ok: false, message: `expected ${what} like ${example}, got ${JSON.stringify(input)} (units: ${Object.keys(units).join(', ')})` };
}

/** Durations, in nanoseconds. A bare number is refused: `2` could be seconds or milliseconds. */
export function parseDuration(input: unknown): Parsed {
  return parseWith(input, { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, min: 60e9 }, null, 'a duration', '2s, 500ms or 10us');
}

/** Counts and rates (per second), as plain numbers. */
export function parseCount(input: unknown): Parsed {
  return parseWith(input, { k: 1e3, K: 1e3, M: 1e6, G: 1e9 }, 1, 'a count', '500k or 1M');
}

/** Sizes, in bytes. Binary units are powers of 1024, decimal ones powers of 1000. */
export function parseSize(input: unknown): Parsed {
  return parseWith(input, { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 }, 1, 'a size', '1024, 64KiB or 1MiB');
}

/** Percentages, as a number of percent (`30%` → 30). */
export function parsePercent(input: unknown): Parsed {
  return parseWith(input, { '%': 1 }, 1, 'a percentage', '30%');
}

export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  if (ns < 1e3) return `${Math.round(ns)}ns`;
  if (ns < 1e6) return `${(ns / 1e3).toPrecision(3)}µs`;
  if (ns < 1e9) return `${(ns / 1e6).toPrecision(3)}ms`;
  return `${(ns / 1e9).toPrecision(3)}s`;
}

export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n >= 1e9) return `${(n / 1e9).toPrecision(3)}G`;
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${(n / 1e3).toPrecision(3)}k`;
  return `${Math.round(n)}`;
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toPrecision(3)}GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toPrecision(3)}MiB`;
  if (n >= 1024) return `${(n / 1024).toPrecision(3)}KiB`;
  return `${n}B`;
}

/** A server's CPU time per million deliveries, in seconds: `3.07 CPU-s/M` (three digits, as counts). */
export function formatCpuPerMillion(seconds: number): string {
  return `${seconds >= 100 ? Math.round(seconds) : seconds.toPrecision(3)} CPU-s/M`;
}
