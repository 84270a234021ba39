#!/usr/bin/env node
// The broker under the hostile-client flood of issue #26, measured against the broker process
// as users run it (the process `nanomq broker --port 0` runs, with the broker's V8 flags,
// broker/node-flags.ts; default limits): a well-behaved publisher and
// subscriber exchange verified messages (64 B payloads, batches of 256, every message checked for
// number, order and CRC) for a while alone, then while a second process attacks with
//   - 1 000 sockets that never finish HELLO, each holding half of a 4 KiB frame (reopened when cut),
//   - a subscriber to the pair's topic that reads nothing and sends ACKs for credit it was never
//     sent (reconnecting whenever it is cut),
//   - a client opening topics in a loop (reconnecting whenever it is refused or cut),
// then alone again. The broker's RSS is sampled every 100 ms from /proc. Prints one line per phase
// and a verdict against the targets (RSS < 100 MB throughout and after; the pair keeps ≥ 50% of
// its throughput; nothing of the pair refused or lost). Exit 0 when all hold, 1 otherwise.
//
//   npm run build && node scripts/broker-flood.mjs [--seconds 10] [--plain] [--node-flag=--V8-FLAG]…
//
// `--plain` starts the broker without the broker's V8 flags and allocator settings (Node's and
// glibc's own);
// `--node-flag=--max-semi-space-size=4` (with `=`: the value starts with a dash) adds a flag after
// them, to measure another setting against the default.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BrokerClient, readMessage } from '../dist/broker/client.js';
import { Frames, FrameType, PROTOCOL_VERSION, writeFrameHeader } from '../dist/broker/frames.js';
import { BROKER_NODE_FLAGS, brokerEnvironment } from '../dist/broker/node-flags.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    plain: { type: 'boolean', default: false },
    'node-flag': { type: 'string', multiple: true, default: [] },
  },
  allowPositionals: true,
});
const seconds = Number(values.seconds);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (positionals[0] === 'attack') {
  await attack(positionals[1]);
} else {
  process.exit(await measure());
}

/** The attacking process: runs until its parent kills it. */
async function attack(url) {
  const { hostname: host, port } = new URL(url.replace(/^tcp:/, 'http:'));
  const partial = Buffer.alloc(2048);
  writeFrameHeader(partial, 0, { type: FrameType.HELLO, id: PROTOCOL_VERSION, arg: 0, count: 0, length: 4096 });
  const holder = () => {
    const s = connect({ host, port: Number(port) });
    s.on('error', () => {});
    s.on('connect', () => s.write(partial));
    s.on('close', () => setTimeout(holder, 10));
    s.on('data', () => {});
  };
  for (let i = 0; i < 1000; i++) holder();
  const liar = () => {
    const s = connect({ host, port: Number(port) });
    s.on('error', () => {});
    let acks;
    s.on('connect', () => {
      s.write(Frames.hello(''));
      s.write(Frames.subscribe(1, 1_000_000, 'good'));
      s.pause();
      acks = setInterval(() => s.write(Frames.ack(1, 65535, [])), 200);
    });
    s.on('close', () => {
      clearInterval(acks);
      setTimeout(liar, 10);
    });
  };
  liar();
  for (let n = 0; ; ) {
    let c;
    try {
      c = await BrokerClient.connect(url);
      for (;;) {
        await c.openPublisher(`junk-${n++}`);
      }
    } catch {
      c?.destroy();
      await sleep(1);
    }
  }
}

function rssMiB(pid, field = 'VmRSS') {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The kernel's own peak (VmHWM), which no sample can miss, from now on: `5` resets it. */
function resetPeak(pid) {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** Publishes and receives verified messages for `ms`; returns msg/s and what went wrong. */
async function exchange(url, topic, ms, sampler) {
  const sub = await BrokerClient.connect(url);
  const pubClient = await BrokerClient.connect(url);
  let expected = 0;
  let bad = 0;
  await sub.subscribe(topic, {}, (bytes, offset, length) => {
    const m = readMessage(bytes, offset, length);
    const n = new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true);
    if (!m.intact || n !== expected) bad++;
    expected = n + 1;
  });
  const publisher = await pubClient.openPublisher(topic);
  const payloads = Array.from({ length: 256 }, () => new Uint8Array(64));
  let sent = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    for (let i = 0; i < 256; i++) new DataView(payloads[i].buffer).setUint32(0, sent + i, true);
    await publisher.send(payloads);
    sent += 256;
    sampler();
  }
  const deadline = Date.now() + 10_000;
  while (expected < sent && Date.now() < deadline) await sleep(5);
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all([sub.close(), pubClient.close()]);
  return { rate: expected / elapsed, lost: sent - expected, bad };
}

async function measure() {
  // As `nanomq broker` and the harness start it: the broker's V8 flags (broker/node-flags.ts).
  const nodeFlags = [...(values.plain ? [] : BROKER_NODE_FLAGS), ...values['node-flag']];
  const broker = spawn(process.execPath, [...nodeFlags, join(root, 'dist/broker/main.js'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: values.plain ? process.env : brokerEnvironment(),
  });
  const tunables = values.plain ? undefined : brokerEnvironment().GLIBC_TUNABLES;
  console.log(
    `broker: ${tunables ? `GLIBC_TUNABLES=${tunables} ` : ''}node ${[...nodeFlags, 'dist/broker/main.js', '--port', '0'].join(' ')} (default limits)`,
  );
  let out = '';
  broker.stdout.on('data', (d) => (out += d));
  while (!/tcp:\/\/\S+/.test(out)) await sleep(10);
  const url = /tcp:\/\/\S+/.exec(out)[0];
  let peak = 0;
  let lastSample = 0;
  const sampler = () => {
    if (Date.now() - lastSample < 100) return;
    lastSample = Date.now();
    peak = Math.max(peak, rssMiB(broker.pid));
  };
  const ticker = setInterval(sampler, 100);
  const results = {};
  try {
    results.idle = rssMiB(broker.pid);
    results.alone = await exchange(url, 'good', seconds * 1000, sampler);
    results.alonePeak = peak;
    peak = 0;
    resetPeak(broker.pid);
    const attacker = spawn(process.execPath, [fileURLToPath(import.meta.url), 'attack', url], { stdio: 'inherit' });
    await sleep(1000);
    results.flood = await exchange(url, 'good', seconds * 1000, sampler);
    results.floodPeak = peak;
    results.floodHwm = rssMiB(broker.pid, 'VmHWM');
    attacker.kill('SIGKILL');
    await sleep(2000);
    peak = 0;
    results.after = await exchange(url, 'good', Math.min(3000, seconds * 1000), sampler);
    results.afterRss = rssMiB(broker.pid);
  } finally {
    clearInterval(ticker);
    broker.kill('SIGTERM');
  }
  const f = (r) => `${(r.rate / 1e6).toFixed(2)}M msg/s, ${r.lost} lost, ${r.bad} out of order or corrupt`;
  console.log(`broker idle:        RSS ${results.idle.toFixed(1)} MiB`);
  console.log(`pair alone:         ${f(results.alone)}; broker peak RSS ${results.alonePeak.toFixed(1)} MiB`);
  console.log(
    `pair under flood:   ${f(results.flood)}; broker peak RSS ${results.floodHwm.toFixed(1)} MiB (VmHWM; sampled every 100 ms: ${results.floodPeak.toFixed(1)} MiB)`,
  );
  console.log(`pair after:         ${f(results.after)}; broker RSS ${results.afterRss.toFixed(1)} MiB`);
  const share = results.flood.rate / results.alone.rate;
  const checks = [
    [`broker RSS under 100 MB through the flood (${((results.floodHwm * 2 ** 20) / 1e6).toFixed(1)} MB, VmHWM)`, results.floodHwm * 2 ** 20 < 100e6],
    [`broker RSS under 100 MB after (${((results.afterRss * 2 ** 20) / 1e6).toFixed(1)} MB)`, results.afterRss * 2 ** 20 < 100e6],
    [`the pair keeps ≥ 50% of its throughput (${(share * 100).toFixed(0)}%)`, share >= 0.5],
    ['nothing of the pair lost, reordered or corrupt', [results.alone, results.flood, results.after].every((r) => r.lost === 0 && r.bad === 0)],
  ];
  for (const [what, ok] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  // The broker process, as the harness measures it; `nanomq broker` puts its launcher in front
  // (broker/launcher.ts: 7.6 MiB of memory of its own, the rest shared with the broker).
  console.log(`(the broker process alone; under \`nanomq broker\` its launcher adds ~7.6 MiB of its own)`);
  return checks.every(([, ok]) => ok) ? 0 : 1;
}
