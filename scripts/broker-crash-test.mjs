#!/usr/bin/env node
// The crash test through the broker (run by scripts/crash-test.mjs, or alone): a broker on a
// write-ahead log (`--log DIR --durability POLICY`) is killed with SIGKILL while publishers wait
// for acknowledgements, KILLS times per policy, and restarted on the same directory each time.
// A consumer group member leaves before each kill and reconnects after each restart, so the
// group always has acknowledged messages it was not yet sent when the broker dies. At the end every message the broker
// acknowledged (PUBACK) must have reached the group at least once; messages published but not
// acknowledged may or may not arrive, and acknowledged ones may arrive twice (the group's
// committed offset is written out every 100 ms: at least once). Prints one line per policy:
//   kills, acknowledged, received, lost, duplicates
//
// A SIGKILL keeps the page cache, so alone it cannot see a missing fdatasync. Two settings make
// each kill a power cut (scripts/lazyfs-power-cut.sh sets both):
//   BROKER_CRASH_DIR        make the log directories in here (a LazyFS mount) instead of the
//                           temporary folder; only the test's own subfolders are removed
//   BROKER_CRASH_POWER_CUT  a shell command run after each kill, before the restart (for
//                           LazyFS: echo lazyfs::clear-cache > FIFO, which drops every write
//                           not yet synced)
import { execSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerClient, readMessage } from '../dist/broker/client.js';

const KILLS = Number(process.env.BROKER_CRASH_KILLS ?? 10);
const ROOT = process.env.BROKER_CRASH_DIR ?? tmpdir();
const POWER_CUT = process.env.BROKER_CRASH_POWER_CUT;
const brokerMain = new URL('../dist/broker/main.js', import.meta.url).pathname;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startBroker(dir, policy) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [brokerMain, '--port', '0', '--log', dir, '--durability', policy], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (tcp:\/\/\S+)/.exec(out);
      if (m) resolve({ process: p, url: m[1] });
    });
    p.on('exit', (code, signal) => reject(new Error(`broker exited (${code ?? signal}) before listening: ${err}`)));
  });
}

function idOf(bytes, offset, length) {
  const { payload } = readMessage(bytes, offset, length);
  return new DataView(payload.buffer, payload.byteOffset).getUint32(0, true);
}

async function crashPolicy(policy) {
  const dir = mkdtempSync(join(ROOT, `nanomq-broker-crash-${policy}-`));
  const acknowledged = new Set();
  const received = new Map();
  let next = 0;
  let broker;
  try {
    for (let kill = 0; kill <= KILLS; kill++) {
      broker = await startBroker(dir, policy);
      const member = await BrokerClient.connect(broker.url);
      await member.subscribe('jobs', { group: 'workers' }, (bytes, offset, length) => {
        const n = idOf(bytes, offset, length);
        received.set(n, (received.get(n) ?? 0) + 1);
      });
      if (kill === KILLS) {
        // The last incarnation: no kill; wait for the group to have everything acknowledged.
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline && [...acknowledged].some((n) => !received.has(n))) await sleep(50);
        member.destroy();
        broker.process.kill('SIGTERM');
        break;
      }
      // Two publishers, each sending batches and waiting for each acknowledgement, until the kill.
      const publishers = await Promise.all([0, 1].map(async () => (await BrokerClient.connect(broker.url)).openPublisher('jobs')));
      const killAt = Date.now() + 30 + Math.floor(Math.random() * 200);
      // The member goes away before the kill, so the group has acknowledged messages it has not
      // been sent when the broker dies: they must be there for it after the restart.
      const leaveAt = Date.now() + Math.floor(Math.random() * (killAt - Date.now()) * 0.7);
      while (Date.now() < leaveAt) await sleep(5);
      member.destroy();
      const publishing = publishers.map(async (publisher) => {
        for (;;) {
          const ids = Array.from({ length: 1 + Math.floor(Math.random() * 200) }, () => next++);
          try {
            await publisher.send(ids.map((n) => new Uint8Array(new Uint32Array([n, n ^ 0x5a5a5a5a]).buffer)));
          } catch {
            return; // the broker died: this batch was not acknowledged
          }
          for (const n of ids) acknowledged.add(n);
        }
      });
      while (Date.now() < killAt) await sleep(5);
      broker.process.kill('SIGKILL');
      await Promise.all(publishing);
      await new Promise((r) => (broker.process.exitCode !== null || broker.process.signalCode !== null ? r() : broker.process.once('exit', r)));
      if (POWER_CUT) execSync(POWER_CUT, { stdio: 'inherit' });
    }
  } finally {
    broker?.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  const lost = [...acknowledged].filter((n) => !received.has(n));
  const duplicates = [...received.values()].filter((t) => t > 1).length;
  console.log(
    `broker ${POWER_CUT ? 'power-cut' : 'crash'} test, policy ${policy}: ${POWER_CUT ? 'cuts' : 'kills'} ${KILLS}, acknowledged ${acknowledged.size}, received ${received.size}, lost ${lost.length}, duplicates ${duplicates}`,
  );
  if (lost.length > 0) console.error(`lost (first 10): ${lost.slice(0, 10).join(', ')}`);
  return lost.length === 0 && acknowledged.size > 0;
}

let ok = true;
for (const policy of ['always', 'batch']) ok = (await crashPolicy(policy)) && ok;
process.exit(ok ? 0 : 1);
