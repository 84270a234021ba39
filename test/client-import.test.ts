/**
 * The broker's client is importable as the package (`import … from 'nanomq'`), with types: the
 * README's snippet type-checks as a user's file would (strict, NodeNext), through the package's
 * `exports` and the declarations the build emits, and a misuse of the client is a type error,
 * so the check is not passing on `any`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './support/cli.js';

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** The ```ts block after the `<!-- snippet: client … -->` marker in the README. */
function readmeSnippet(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf('<!-- snippet: client');
  expect(at, 'the README marks its client snippet').toBeGreaterThan(0);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  return block![1];
}

/** Type-checks files as a project of the user's would, from a folder inside this package (so `nanomq` resolves to it). */
function typeCheck(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(root, '.client-import-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const r = spawnSync(
      process.execPath,
      [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', ...Object.keys(files)],
      { cwd: dir, encoding: 'utf8', timeout: 120_000 },
    );
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the client as an import', () => {
  it("the README's snippet type-checks against the package's own types", () => {
    const r = typeCheck({ 'snippet.ts': readmeSnippet() });
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('a misuse is a type error (the types are real, not any)', () => {
    const r = typeCheck({
      'misuse.ts': `import { BrokerClient, readMessage } from 'nanomq';\nconst n: number = readMessage(new Uint8Array(8), 0, 8);\nawait BrokerClient.connect(7480);\n`,
    });
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/misuse\.ts\(2,7\): error TS2322: Type 'Message' is not assignable to type 'number'/);
    expect(r.output).toMatch(/misuse\.ts\(3,28\): error TS2345/);
  });
});
