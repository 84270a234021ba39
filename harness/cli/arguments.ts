/**
 * The flag and argument parsers the commands share. Each refuses bad input with a BadInput that
 * names the flag (exit 2, no stack trace), so every command words the same mistake the same way.
 */
import { backendIds } from '../../implementations/registry.js';
import { ResultFileError, readResultFile } from '../results/read-result.js';
import type { ResultFile } from '../results/types.js';
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
