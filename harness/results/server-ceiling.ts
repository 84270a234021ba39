/**
 * Which case is held against a server's raw ceiling (environment.serverCeilings), and how that is
 * said: one publisher's throughput through a network backend, at the ceiling's payload. The
 * ceiling is one publisher to one subscriber; a fan-out or a group counts more deliveries than a
 * publisher sends, so only throughput is set beside it.
 */
import { formatCount } from '../../wire/units.js';
import type { CaseResult, ServerCeiling } from './types.js';

export function ceilingFor(c: CaseResult, ceilings: readonly ServerCeiling[] | undefined): ServerCeiling | undefined {
  if (c.workload !== 'throughput' || c.params.producers !== 1 || c.summary?.server === undefined) return undefined;
  return ceilings?.find((x) => x.payload === c.params.payload);
}

export function ceilingNote(msgsPerSec: number, ceiling: ServerCeiling): string {
  return `msg/s ${(msgsPerSec / ceiling.msgsPerSec).toFixed(2)}× nats-server's raw ceiling at ${ceiling.payload} B (${formatCount(ceiling.msgsPerSec)} msg/s: raw protocol, nothing verified)`;
}
