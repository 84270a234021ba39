/**
 * Starts nats-server for a suite: one server, or a local cluster of `nodes` servers joined by
 * routes on loopback, each on ephemeral ports, with JetStream (file storage) when asked.
 *
 *   node 0   client port -1 (its own pick)   route port R0 ──┐
 *   node 1   client port -1                   route port R1 ──┤ every node lists every route
 *   node 2   client port -1                   route port R2 ──┘ (R0, R1, R2), itself included
 *
 * Route ports are picked before the nodes start (shared/server/free-port.ts), because every node must
 * name them all: JetStream's cluster refuses to start on a node without configured routes. A
 * cluster is ready when every node has a route to every other: before that, a message
 * published on one node may find no interest from subscribers on another and be dropped.
 */
import { join } from 'node:path';
import type { RunningServer } from '../network-contract.js';
import { freePort } from '../shared/server/free-port.js';
import { runningServer, type ServerProcess, ServerStartError, serverDirectory, startServerProcess, stopAll } from '../shared/server/server-process.js';

export interface NatsServerOptions {
  readonly binary: string;
  readonly version: string;
  readonly nodes: number;
  /** JetStream with file storage in the server's own directory. */
  readonly jetstream: boolean;
}

const CLIENT_LINE = /Listening for client connections on (\S+):(\d+)/;
const ROUTE_CREATED = /Route connection created/;
const READY_LINE = /Server is ready/;
/** How long a cluster may take to connect every route. */
const MESH_TIMEOUT_MS = 15_000;

interface NodeState {
  clientPort?: string;
  routes: number;
  meshed: () => void;
}

export async function startNatsServer({ binary, version, nodes, jetstream }: NatsServerOptions): Promise<RunningServer> {
  const directory = serverDirectory();
  const processes: ServerProcess[] = [];
  const states: NodeState[] = [];
  const meshes: Promise<void>[] = [];
  try {
    const routePorts: number[] = [];
    if (nodes > 1) for (let i = 0; i < nodes; i++) routePorts.push(await freePort());
    const routes = routePorts.map((port) => `nats://127.0.0.1:${port}`).join(',');
    for (let i = 0; i < nodes; i++) {
      const state: NodeState = { routes: 0, meshed: () => {} };
      meshes.push(new Promise<void>((resolve) => (state.meshed = resolve)));
      if (nodes === 1) state.meshed();
      states.push(state);
      const args = ['-a', '127.0.0.1', '-p', '-1', '-n', `nanomq-${i}`];
      if (jetstream) args.push('-js', '-sd', join(directory, `node-${i}`));
      if (nodes > 1) args.push('--cluster_name', 'nanomq', '--cluster', `nats://127.0.0.1:${routePorts[i]}`, '--routes', routes);
      processes.push(
        await startServerProcess({
          command: binary,
          args,
          onLine: (line) => {
            const client = CLIENT_LINE.exec(line);
            if (client) state.clientPort = client[2];
            if (ROUTE_CREATED.test(line) && ++state.routes >= nodes - 1) state.meshed();
          },
          ready: (line) => (READY_LINE.test(line) ? 'ready' : undefined),
        }),
      );
      if (state.clientPort === undefined) {
        throw new ServerStartError(`nats-server node ${i} said it was ready without naming its client port: ${processes[i].output().slice(-400)}`);
      }
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(meshes),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ServerStartError(
                `the ${nodes}-node NATS cluster did not connect every route within ${MESH_TIMEOUT_MS / 1000} s (routes per node: ${states.map((s) => s.routes).join(', ')})`,
              ),
            ),
          MESH_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  } catch (error) {
    await stopAll(processes, directory);
    throw error;
  }
  const what = jetstream ? 'JetStream, file storage' : 'core NATS, in memory';
  const cluster = nodes > 1 ? `, a cluster of ${nodes} nodes routed on loopback` : '';
  return runningServer({
    url: states.map((s) => `tcp://127.0.0.1:${s.clientPort}`).join(','),
    description: `${version} (${what}${cluster}), started for the suite`,
    processes,
    directory,
  });
}
