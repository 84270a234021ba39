#!/usr/bin/env node
// The process that scripts/crash-test.mjs kills. It opens the log in DIR with POLICY (recovering
// what the last kill left), then appends records as fast as it can, forever. Every record's body
// says which offset it begins at and how long it is, so the parent can check content as well as
// CRC. Each time the log's durable offset moves, it reports it on stdout ("A <offset>") with a
// synchronous write, so the parent never learns of an acknowledgement that was not made.
import { writeSync } from 'node:fs';
import { nowNs, WriteAheadLog } from '../dist/wal/log.js';
import { fillBody } from './crash-record.mjs';

const [dir, policy] = process.argv.slice(2);
const log = WriteAheadLog.open(dir, { durability: policy, segmentBytes: 4 * 1024 * 1024, groupCommit: { maxDelayUs: 500, maxMessages: 2048 } });
writeSync(1, `R ${log.endOffset} ${log.recovery.truncatedBytes}\n`);
let reported = log.durableOffset;
let k = log.endOffset;
// Bodies up to 4 KiB, and every fourth up to 256 KiB: a large writev is where a kill tears a
// record (the kernel stops copying between pages), which recovery must then cut.
const scratch = new Uint8Array(8 + 256 * 1024);
for (;;) {
  const count = 1 + (k % 61);
  const length = 8 + (k % 4 === 0 ? (k * 7919) % (256 * 1024) : (k * 7919) % 4000);
  fillBody(scratch, log.endOffset, length);
  log.append(scratch.subarray(0, length), count);
  if (policy === 'batch') log.syncIfDue(nowNs());
  if (log.durableOffset !== reported) {
    reported = log.durableOffset;
    writeSync(1, `A ${reported}\n`);
  }
  k++;
}
