/**
 * Starts redis-server for a suite: one server, or a primary with `nodes - 1` replicas, each on
 * an ephemeral loopback port, with the persistence a durability asks for, its files in a
 * directory of its own.
 *
 *   durability none    appendonly no, save ""       in memory only (Redis with persistence off)
 *   durability batch   appendonly yes, everysec     the AOF is synced once a second, in the background
 *   durability always  appendonly yes, always       the AOF is synced before replies are sent
 *
 * Redis cannot pick its own port (port 0 turns TCP off), so a free one is found by binding
 * port 0 and releasing it; when another program takes it in between, the start is retried.
 */
import type { Durability } from '../contract.js';
import type { RunningServer } from '../network-contract.js';
import { freePort } from '../shared/server/free-port.js';
import { runningServer, type ServerProcess, ServerStartError, serverDirectory, startServerProcess, stopAll } from '../shared/server/server-process.js';

export interface RedisServerOptions {
  readonly binary: string;
  readonly version: string;
  readonly nodes: number;
  readonly durability: Durability;
}

const PERSISTENCE: Record<Durability, string[]> = {
  none: ['--appendonly', 'no'],
  batch: ['--appendonly', 'yes', '--appendfsync', 'everysec'],
  always: ['--appendonly', 'yes', '--appendfsync', 'always'],
};
const PERSISTENCE_TEXT: Record<Durability, string> = {
  none: 'in memory, persistence off',
  batch: 'AOF, appendfsync everysec',
  always: 'AOF, appendfsync always',
};
const READY_LINE = /Ready to accept connections/;
const REPLICA_SYNCED = /MASTER <-> REPLICA sync: Finished with success/;
const PORT_TAKEN = /Address already in use/;
const START_ATTEMPTS = 3;

async function startNode(binary: string, directory: string, args: string[], replicaOf: number | undefined): Promise<{ process: ServerProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let synced: () => void = () => {};
    const sync = new Promise<void>((resolve) => (synced = resolve));
    try {
      const process = await startServerProcess({
        command: binary,
        args: [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--protected-mode',
          'yes',
          '--daemonize',
          'no',
          '--save',
          '',
          '--dir',
          directory,
          '--dbfilename',
          `dump-${port}.rdb`,
          '--appendfilename',
          `appendonly-${port}.aof`,
          ...args,
          ...(replicaOf !== undefined ? ['--replicaof', '127.0.0.1', String(replicaOf)] : []),
        ],
        onLine: (line) => {
          if (REPLICA_SYNCED.test(line)) synced();
        },
        ready: (line) => (READY_LINE.test(line) ? 'ready' : undefined),
      });
      if (replicaOf !== undefined) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          sync,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new ServerStartError(`a Redis replica did not finish its first sync within 15 s: ${process.output().slice(-300)}`)),
              15_000,
            );
          }),
        ])
          .catch(async (error) => {
            await process.stop();
            throw error;
          })
          .finally(() => clearTimeout(timer));
      }
      return { process, port };
    } catch (error) {
      if (attempt < START_ATTEMPTS && PORT_TAKEN.test((error as Error).message)) continue;
      throw error;
    }
  }
}

export async function startRedisServer({ binary, version, nodes, durability }: RedisServerOptions): Promise<RunningServer> {
  const directory = serverDirectory();
  const processes: ServerProcess[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < nodes; i++) {
      const node = await startNode(binary, directory, PERSISTENCE[durability], i === 0 ? undefined : ports[0]);
      processes.push(node.process);
      ports.push(node.port);
    }
  } catch (error) {
    await stopAll(processes, directory);
    throw error;
  }
  const replicas = nodes > 1 ? `, a primary with ${nodes - 1} replica(s) on loopback` : '';
  return runningServer({
    url: ports.map((p) => `tcp://127.0.0.1:${p}`).join(','),
    description: `${version} (${PERSISTENCE_TEXT[durability]}${replicas}), started for the suite`,
    processes,
    directory,
  });
}
