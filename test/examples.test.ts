/**
 * The examples (examples/*.ts) run as a user would run them, from dist/: each with a broker it
 * starts itself, and each against a broker given by address (`nanomq broker` in a child process,
 * with a token). Each must print what happened and exit 0.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './support/broker-peers.js';

const root = join(__dirname, '..');
const examples: [string, RegExp][] = [
  ['pub-sub', /every subscriber got every message, in order/],
  ['batch-publisher', /published and received 100000 messages in batches of 256/],
  ['consumer-group', /every one of 20000 jobs done: true; redelivered: [1-9]/],
];
const runExample = (name: string, args: string[] = []) =>
  spawnSync(process.execPath, [join(root, 'dist', 'examples', `${name}.js`), ...args], { encoding: 'utf8', timeout: 60_000 });

describe('examples with a broker of their own', () => {
  for (const [name, says] of examples) {
    it(`${name} runs and exits 0`, () => {
      const r = runExample(name);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/started a broker in this process/);
      expect(r.stdout).toMatch(says);
    });
  }
});

describe('examples against a broker given by address (with a token)', () => {
  let broker: ChildProcess;
  let url = '';
  beforeAll(async () => {
    broker = spawn(process.execPath, [join(root, 'dist', 'harness', 'cli', 'main.js'), 'broker', '--port', '0', '--token', 'example-token'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    broker.stdout!.on('data', (d) => (out += d));
    await until(() => /tcp:\/\/\S+/.test(out), 10_000, 'the broker to listen');
    url = /tcp:\/\/\S+/.exec(out)![0];
  });
  afterAll(() => {
    broker.kill('SIGTERM');
  });
  it('refuses an address without tcp://, and a missing token, each in one line', () => {
    const bare = runExample('pub-sub', [url.replace('tcp://', ''), '--token', 'example-token']);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toMatch(/is not an argument this example takes \(a broker's address is tcp:\/\/host:port: did you mean tcp:\/\//);
    expect(bare.stdout).not.toMatch(/started a broker/);
    const noToken = runExample('pub-sub', [url]);
    expect(noToken.status).toBe(1);
    expect(noToken.stderr.trim().split('\n')).toHaveLength(1);
    expect(noToken.stderr).toMatch(/^example: .*(token|authori)/i);
  });
  for (const [name, says] of examples) {
    it(`${name} runs and exits 0`, () => {
      const r = runExample(name, [url, '--token', 'example-token']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(`using the broker at ${url}`);
      expect(r.stdout).toMatch(says);
    });
  }
});
