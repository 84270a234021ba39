#!/usr/bin/env node
// What nats-server itself can carry on this machine, without the Node client's per-message work:
// one publisher socket writes pre-built PUB commands, one subscriber socket counts the bytes of
// the MSG frames it gets back; nothing is parsed, copied or checked per message. The server's
// ceiling for one publisher and one subscriber, to set beside the `nats` backend's figures (which
// include the client library and the harness's checks) and the NanoMQ broker's. A suite with
// `nats` throughput cases measures the same (harness/calibration/nats-raw-ceiling.ts) and prints
// each one-publisher throughput as a fraction of it.
// Usage: node scripts/bench-nats-raw.mjs [payload bytes = 64] [seconds = 3] [runs = 3]
import { measureNatsRawCeiling } from '../dist/harness/calibration/nats-raw-ceiling.js';

const payload = Number(process.argv[2] ?? 64);
const seconds = Number(process.argv[3] ?? 3);
const runs = Number(process.argv[4] ?? 3);
const measured = await measureNatsRawCeiling([payload], seconds, runs);
if ('problem' in measured) {
  console.error(measured.problem);
  process.exit(1);
}
const [c] = measured.ceilings;
for (const [i, rate] of c.runs.entries()) {
  console.log(
    `run ${i + 1}: ${Math.round(rate).toLocaleString('en')} msg/s delivered (payload ${payload} B, message ${64 + payload} B (a case's envelope), one publisher, one subscriber, raw protocol)`,
  );
}
console.log(`median of ${runs}: ${Math.round(c.msgsPerSec).toLocaleString('en')} msg/s (${c.server})`);
