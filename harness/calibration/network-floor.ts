/**
 * The network round-trip floor: what Node's TCP sockets on this machine allow before any broker
 * or harness code is involved, in the broker's ping-pong topology. A pinger thread and a ponger
 * thread (worker threads of this process, as the harness's are) talk through a relay process
 * that forwards bytes unread: pinger → relay → ponger → relay → pinger, four loopback hops and
 * three event loops, 72-byte messages, one in flight, no framing and no checks. Suites with
 * network ping-pong cases carry it (`environment.networkFloor`), and each such case's round trip
 * is shown beside it, so a reader can tell the broker's share of a round trip from the sockets'.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../../implementations/package-root.js';
import type { NetworkFloor } from '../results/types.js';

const MESSAGE_BYTES = 72;

export async function measureNetworkFloor(roundTrips = 20_000): Promise<NetworkFloor | undefined> {
  const dir = join(packageRoot(), 'dist', 'harness', 'calibration');
  const relay = fork(join(dir, 'network-floor-relay.js'), [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const workers: Worker[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      relay.once('message', (m) => resolve(m as number));
      relay.once('error', reject);
      relay.once('exit', () => reject(new Error('relay exited')));
    });
    const start = (role: 'pinger' | 'ponger') => {
      const w = new Worker(join(dir, 'network-floor-worker.js'), { workerData: { role, port, roundTrips, messageBytes: MESSAGE_BYTES } });
      workers.push(w);
      return new Promise<unknown>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    };
    await start('ponger');
    const rtt = (await start('pinger')) as Float64Array;
    const sorted = Float64Array.from(rtt).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return {
      roundTrips: sorted.length,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      method: `bare TCP: pinger thread → relay process → ponger thread and back (4 loopback hops, 3 event loops), ${MESSAGE_BYTES}-byte messages, one in flight, no framing or checks`,
    };
  } catch {
    return undefined;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    relay.kill('SIGKILL');
  }
}
