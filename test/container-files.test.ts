/**
 * The container files agree with the code (the image itself is built and run by
 * `npm run test:container`): the Dockerfile's commands name files the build makes, the
 * compose file's benchmark names servers the way `nanomq run --server` accepts, and the build
 * context leaves users' data and installed output out.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseServerFlags } from '../harness/cli/arguments.js';

const dockerfile = readFileSync('Dockerfile', 'utf8');

describe('Dockerfile, compose.yaml and .dockerignore', () => {
  it('runs the broker on every interface with a token, as a user of its own, with a health check that exists', () => {
    expect(dockerfile).toMatch(/^ARG BASE=node:20-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^CMD \["broker", "--listen", "0\.0\.0\.0", "--port", "7480"\]$/m);
    expect(dockerfile).toMatch(/^USER nanomq$/m);
    const health = /HEALTHCHECK .*CMD \["node", "(dist\/[^"]+)"\]/.exec(dockerfile)![1];
    const entry = /ENTRYPOINT \["node", "(dist\/[^"]+)"\]/.exec(dockerfile)![1];
    for (const file of [health, entry]) expect(existsSync(file), file).toBe(true);
    // Only the build stage has the toolchain.
    const [build, run] = dockerfile.split(/^FROM \$\{BASE\}$/m);
    expect(build).toMatch(/g\+\+/);
    expect(run).not.toMatch(/g\+\+|apt-get install/);
  });

  it('compose runs brokers.yaml against the three servers by address, each wanting the token', () => {
    const compose = parse(readFileSync('compose.yaml', 'utf8')) as { services: Record<string, { command?: string[] }> };
    expect(Object.keys(compose.services).sort()).toEqual(['bench', 'broker', 'nats', 'redis']);
    const command = compose.services.bench.command!;
    expect(command.slice(0, 2)).toEqual(['run', 'scenarios/brokers.yaml']);
    expect(existsSync(command[1])).toBe(true);
    const servers = command.flatMap((arg, i) => (command[i - 1] === '--server' ? [arg] : []));
    expect(Object.keys(parseServerFlags(servers)!).sort()).toEqual(['broker', 'nats', 'redis-streams']);
    expect(compose.services.nats.command).toContain('--auth');
    expect(compose.services.redis.command).toContain('--requirepass');
  });

  it('keeps results, reports, node_modules and build output out of the build context', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', 'build', 'results', 'reports', '.git']) expect(ignored).toContain(entry);
  });
});
