#!/usr/bin/env node
// What nats-server itself can carry on this machine, without the Node client's per-message work:
// one publisher socket writes pre-built PUB commands (64-byte payloads), one subscriber socket
// counts the bytes of the MSG frames it gets back; nothing is parsed, copied or checked per
// message. The publisher keeps at most WINDOW messages in flight (a slow consumer would be cut
// off). This is the server's ceiling for one publisher and one subscriber, to set beside the
// `nats` backend's figures, which include the client library and the harness's checks.
// Usage: node scripts/bench-nats-raw.mjs [payload bytes = 64] [seconds = 3] [runs = 3]
import { connect } from 'node:net';
import { startNats } from '../dist/implementations/nats/backend.js';

const payload = Number(process.argv[2] ?? 64);
const seconds = Number(process.argv[3] ?? 3);
const runs = Number(process.argv[4] ?? 3);
const BATCH = 256;
const WINDOW = 64 * 1024;
const subject = 'raw';
const body = Buffer.alloc(payload, 0x61);
const pub = Buffer.concat([Buffer.from(`PUB ${subject} ${payload}\r\n`), body, Buffer.from('\r\n')]);
const batch = Buffer.concat(Array.from({ length: BATCH }, () => pub));
const msgFrameBytes = Buffer.byteLength(`MSG ${subject} 1 ${payload}\r\n`) + payload + 2;

function open(port) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}
const ready = (socket) =>
  new Promise((resolve) => {
    let text = '';
    const onData = (d) => {
      text += d.toString('latin1');
      if (text.includes('PONG\r\n')) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });

const server = await startNats({ durability: 'none', nodes: 1 }, false);
const port = Number(server.url.split(':').pop());
const rates = [];
try {
  for (let run = 0; run < runs; run++) {
    const sub = await open(port);
    const subReady = ready(sub);
    sub.write(`CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${subject} 1\r\nPING\r\n`);
    await subReady;
    const pubSocket = await open(port);
    const pubReady = ready(pubSocket);
    pubSocket.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
    await pubReady;
    let receivedBytes = 0;
    let sent = 0;
    let wake = null;
    sub.on('data', (d) => {
      receivedBytes += d.length;
      if (wake && sent - Math.floor(receivedBytes / msgFrameBytes) < WINDOW) {
        const w = wake;
        wake = null;
        w();
      }
    });
    const end = performance.now() + seconds * 1000;
    const start = performance.now();
    while (performance.now() < end) {
      if (sent - Math.floor(receivedBytes / msgFrameBytes) >= WINDOW) {
        await new Promise((resolve) => (wake = resolve));
        continue;
      }
      const drained = pubSocket.write(batch);
      sent += BATCH;
      if (!drained) await new Promise((resolve) => pubSocket.once('drain', resolve));
    }
    const received = Math.floor(receivedBytes / msgFrameBytes);
    const rate = received / ((performance.now() - start) / 1000);
    rates.push(rate);
    console.log(`run ${run + 1}: ${Math.round(rate).toLocaleString('en')} msg/s delivered (payload ${payload} B, one publisher, one subscriber, raw protocol)`);
    pubSocket.destroy();
    sub.destroy();
  }
} finally {
  await server.stop();
}
rates.sort((a, b) => a - b);
console.log(`median of ${runs}: ${Math.round(rates[Math.floor(runs / 2)]).toLocaleString('en')} msg/s`);
