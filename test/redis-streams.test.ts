/**
 * Redis Streams specifics the shared network suite cannot pin down by timing: trimming keeps
 * every entry a group still needs, so what a dead member left unacknowledged can be claimed.
 */
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../implementations/network-contract.js';
import { redisStreams, trimToNeeded } from '../implementations/redis-streams/backend.js';

const availability = redisStreams.available();
if (!availability.available && process.env.NANOMQ_REQUIRE_SERVERS === '1') throw new Error(availability.reason);

describe.skipIf(!availability.available)('redis-streams trimming', () => {
  let server: RunningServer;
  let client: ReturnType<typeof createClient>;
  beforeAll(async () => {
    server = await redisStreams.startServer!({ durability: 'none', nodes: 1 });
    client = createClient({ url: server.url.replace('tcp://', 'redis://') });
    await client.connect();
  });
  afterAll(async () => {
    client?.destroy();
    await server?.stop();
  });

  it('keeps what a dead member never acknowledged, however far the others have read, so it can still be claimed', async () => {
    const key = 'trim-test';
    await client.sendCommand(['XGROUP', 'CREATE', key, 'g', '0', 'MKSTREAM']);
    const add = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => client.sendCommand(['XADD', key, '*', 'd', String(i)])));
    await add(10);
    // The member that dies: reads 10 and never acknowledges them.
    await client.sendCommand(['XREADGROUP', 'GROUP', 'g', 'dead', 'COUNT', '10', 'STREAMS', key, '>']);
    // The others read and acknowledge thousands more (many internal nodes of 100 entries).
    await add(5000);
    const read = (await client.sendCommand(['XREADGROUP', 'GROUP', 'g', 'alive', 'COUNT', '5000', 'STREAMS', key, '>'])) as unknown;
    const entries = (Array.isArray(read) ? read[0][1] : Object.values(read as object)[0]) as [string, string[]][];
    expect(entries).toHaveLength(5000);
    await client.sendCommand(['XACK', key, 'g', ...entries.map((e) => String(e[0]))]);
    await trimToNeeded(client, key);
    const claimed = (await client.sendCommand(['XAUTOCLAIM', key, 'g', 'alive', '0', '0-0', 'COUNT', '100'])) as [
      string,
      [string, string[] | null][],
      string[],
    ];
    expect(claimed[1].filter((e) => e[1] !== null)).toHaveLength(10);
    expect(claimed[2] ?? []).toHaveLength(0);
    // Nothing before them could go; once they are acknowledged too, the trim does trim.
    expect(Number(await client.sendCommand(['XLEN', key]))).toBe(5010);
    await client.sendCommand(['XACK', key, 'g', ...claimed[1].map((e) => String(e[0]))]);
    await trimToNeeded(client, key);
    expect(Number(await client.sendCommand(['XLEN', key]))).toBeLessThan(200);
  });
});
