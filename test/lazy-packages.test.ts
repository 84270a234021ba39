/**
 * Network clients stay out of workers that do not use them (implementations/shared/network/lazy-package.ts):
 * every worker imports the registry, and with `nats` and `redis` loaded there post-message lost a
 * quarter of its throughput at payload 1024, batch 256. A fresh Node process imports the compiled
 * registry and reports which packages the CommonJS loader holds; it then imports both clients,
 * to show the check sees them when they are there.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { root } from './support/cli.js';

const probe = `
import { createRequire } from 'node:module';
const Module = createRequire(import.meta.url)('node:module');
const loaded = () => ['nats', '@redis'].filter((n) => Object.keys(Module._cache).some((k) => k.includes('/node_modules/' + n + '/')));
await import('./dist/implementations/registry.js');
const afterRegistry = loaded();
await import('nats');
await import('redis');
console.log(JSON.stringify({ afterRegistry, afterImport: loaded() }));
`;

describe('network client packages', () => {
  it('are not loaded by importing the registry, only by a connection', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ afterRegistry: [], afterImport: ['nats', '@redis'] });
  });
});
