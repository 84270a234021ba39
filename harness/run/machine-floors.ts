/**
 * What a run measures of the machine beside its cases, once, before them: the references a
 * reader needs to judge the cases' figures (a latency floor, a network floor, nats-server's raw
 * ceiling, the disk's sync rates).
 */
import { findBackend, isNetworkBackend } from '../../implementations/registry.js';
import { measureDiskSync } from '../calibration/disk-sync.js';
import { measureLatencyFloor } from '../calibration/latency-floor.js';
import { measureNatsRawCeiling } from '../calibration/nats-raw-ceiling.js';
import { measureNetworkFloor } from '../calibration/network-floor.js';
import type { Environment } from '../results/types.js';
import type { PlannedCase } from '../scenario/plan.js';

/**
 * The machine's own figures the planned cases are read against, measured before they run: the
 * latency floor at the highest rate (rate cases), the sockets' round trip (network ping-pong),
 * nats-server's raw ceiling (`nats` throughput on a server the harness starts; each run as long
 * as a trial's window, 0.25–2 s, so a quick suite pays little for it), the disk's fdatasync
 * latency and write rates (durable backends). None once stopped; a reference that could not be
 * measured is a warning.
 */
export async function machineFloors(
  planned: readonly PlannedCase[],
  signal: AbortSignal | undefined,
  { windowNs = 2e9, natsServerNamed = false }: { windowNs?: number; natsServerNamed?: boolean } = {},
): Promise<{ floors: Pick<Environment, 'latencyFloor' | 'networkFloor' | 'serverCeilings' | 'diskSync'>; warnings: string[] }> {
  const runs = planned.filter((p) => !p.skip);
  const warnings: string[] = [];
  const rates = runs.filter((p) => p.params.rate !== undefined).map((p) => p.params.rate!);
  const latencyFloor = rates.length > 0 && !signal?.aborted ? await measureLatencyFloor(Math.max(...rates)) : undefined;
  const networkPingPong = runs.some((p) => p.workload === 'ping-pong' && isNetworkBackend(findBackend(p.backend)!));
  const networkFloor = networkPingPong && !signal?.aborted ? await measureNetworkFloor() : undefined;
  // The brokers' reference: nats-server's own ceiling, where its client's throughput is measured
  // on a server of the harness's (one named by `servers:` runs elsewhere: nothing here is its ceiling).
  const ceilingPayloads = natsServerNamed
    ? []
    : [...new Set(runs.filter((p) => p.backend === 'nats' && p.workload === 'throughput').map((p) => p.params.payload))];
  let serverCeilings: Environment['serverCeilings'];
  if (ceilingPayloads.length > 0 && !signal?.aborted) {
    const ceiling = await measureNatsRawCeiling(ceilingPayloads, Math.min(2, Math.max(0.25, windowNs / 1e9)), 3, signal);
    if ('ceilings' in ceiling) serverCeilings = ceiling.ceilings;
    else if (!signal?.aborted) warnings.push(ceiling.problem);
  }
  const durable = runs.some((p) => findBackend(p.backend)?.traits.durable === true);
  const diskSync = durable && !signal?.aborted ? measureDiskSync() : undefined;
  return {
    floors: {
      ...(latencyFloor ? { latencyFloor } : {}),
      ...(networkFloor ? { networkFloor } : {}),
      ...(serverCeilings ? { serverCeilings } : {}),
      ...(diskSync ? { diskSync } : {}),
    },
    warnings,
  };
}
