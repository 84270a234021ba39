/**
 * The flag and argument parsers the commands share. Each refuses bad input with a BadInput that
 * names the flag (exit 2, no stack trace), so every command words the same mistake the same way.
 */
import { backendIds, networkBackends } from '../../implementations/registry.js';
import { ResultFileError, readResultFile } from '../results/read-result.js';
import type { ResultFile } from '../results/types.js';
import { SERVER_URL } from '../scenario/schema.js';
import { BadInput } from './exit.js';

/** Reads a result file named on the command line; a file that is not one is bad input. */
export function readResultOrBadInput(path: string): ResultFile {
  try {
    return readResultFile(path);
  } catch (error) {
    if (error instanceof ResultFileError) throw new BadInput(error.message);
    throw error;
  }
}

/** `--threshold`: a percentage from 0 to 100 (a trailing % allowed). */
export function parseThreshold(value: string): number {
  const n = Number(value.replace(/%$/, ''));
  if (value.replace(/%$/, '').trim() === '' || !Number.isFinite(n) || n < 0 || n >= 100)
    throw new BadInput(`--threshold: expected a percentage from 0 to 100, got ${JSON.stringify(value)}`);
  // 0.05 is what a fraction of 5% looks like: taken as 0.05%, it would flag noise as change.
  if (n > 0 && n < 1 && !value.endsWith('%'))
    throw new BadInput(`--threshold ${value}: a percentage (5 means 5%); for ${n * 100}% write ${n * 100}, for ${value}% write ${value}%`);
  return n;
}

/** Most trials a run may ask for, as the scenario schema allows. */
const MAX_TRIALS = 1000;

/** `--backend`: comma-separated backend ids, every one known. */
export function parseBackendFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const ids = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const known = backendIds();
  const unknown = ids.filter((id) => !known.includes(id));
  if (ids.length === 0 || unknown.length > 0) {
    throw new BadInput(`--backend: unknown backend ${unknown.map((u) => JSON.stringify(u)).join(', ') || '(none given)'} (known: ${known.join(', ')})`);
  }
  return ids;
}

/** `--trials`: a whole number from 1 to MAX_TRIALS. */
export function parseTrialsFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1 || n > MAX_TRIALS)
    throw new BadInput(`--trials: expected a whole number from 1 to ${MAX_TRIALS}, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * `--server id=tcp://host:port` (repeatable): a server someone else runs, as a scenario's
 * `servers:` entry would name it; it presents NANOMQ_TOKEN when that is set (a token on a
 * command line would show in every process listing).
 */
export function parseServerFlags(values: readonly string[] | undefined): Record<string, { url: string; token?: string }> | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const servers: Record<string, { url: string; token?: string }> = {};
  const network = networkBackends.map((b) => b.id);
  for (const value of values) {
    const at = value.indexOf('=');
    const id = at > 0 ? value.slice(0, at) : '';
    const url = at > 0 ? value.slice(at + 1) : '';
    if (!network.includes(id)) {
      throw new BadInput(`--server ${JSON.stringify(value)}: expected <backend>=tcp://host:port, the backend one with a server (${network.join(', ')})`);
    }
    if (!SERVER_URL.test(url))
      throw new BadInput(`--server ${JSON.stringify(value)}: the address must be tcp://host:port (a cluster: several, comma-separated)`);
    const token = process.env.NANOMQ_TOKEN || undefined;
    servers[id] = token ? { url, token } : { url };
  }
  return servers;
}
