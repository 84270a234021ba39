/**
 * Which case is held against a server's raw ceiling (environment.serverCeilings), and how that is
 * said. The ceiling is one publisher to one subscriber on one in-memory server, so only such a
 * case is set beside it: a one-publisher throughput case that ran (ok) on a single server of the
 * harness's (not a cluster: `server.nodes`), in memory (durability none), at the ceiling's
 * payload. A fan-out or a group counts more deliveries than one publisher sends.
 */
import { formatCount } from '../../wire/units.js';
import type { CaseResult, ServerCeiling } from './types.js';

export function ceilingFor(c: CaseResult, ceilings: readonly ServerCeiling[] | undefined): ServerCeiling | undefined {
  const server = c.summary?.server;
  if (c.status !== 'ok' || c.workload !== 'throughput' || c.params.producers !== 1 || server === undefined || server.nodes !== undefined) return undefined;
  if ((c.params.durability ?? 'none') !== 'none') return undefined;
  return ceilings?.find((x) => x.payload === c.params.payload);
}

/** The case's msg/s as a fraction of the ceiling's. */
export function ceilingRatio(msgsPerSec: number, ceiling: ServerCeiling): number {
  return msgsPerSec / ceiling.msgsPerSec;
}

export function ceilingNote(msgsPerSec: number, ceiling: ServerCeiling): string {
  return `msg/s ${ceilingRatio(msgsPerSec, ceiling).toFixed(2)}× nats-server's raw ceiling at payload ${ceiling.payload} B (${formatCount(ceiling.msgsPerSec)} msg/s: raw protocol, 256 a write, nothing verified)`;
}
