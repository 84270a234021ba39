#!/usr/bin/env node
// `npm run test:crash`: kills a process that is appending to the write-ahead log with SIGKILL at
// random moments, 50 times per durability policy (`always`, then `batch`), and after each kill
// reopens the log and checks that
//   - every acknowledged record is there: the log reaches at least the last offset the child
//     reported durable (lost = what it falls short);
//   - every record is intact (CRC, and the body the child wrote for that offset), in order
//     (offsets continue without a gap) and not duplicated (a body names the offset it was
//     written at, so a record written twice shows up at the wrong offset);
//   - what followed the last acknowledgement is whole or was cut cleanly (truncated bytes).
// Then the same through the broker (scripts/broker-crash-test.mjs). Prints one line per policy:
//   kills, acknowledged, recovered, lost, truncated bytes
// and exits 1 on any loss or damage.
//
// What this cannot show: a SIGKILL leaves the kernel's page cache intact, so it tests the log's
// own ordering (acknowledge only after the write, recover a torn tail) and not the disk. Power
// loss, and a disk or virtual disk that acknowledges an fsync it has not made durable, are not
// covered; the policy `none` is not killed here, as it promises nothing beyond the page cache.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WriteAheadLog } from '../dist/wal/log.js';
import { LogReader, verifyLog } from '../dist/wal/reader.js';
import { fillBody } from './crash-record.mjs';

const KILLS = Number(process.env.CRASH_KILLS ?? 50);
const child = new URL('./crash-child.mjs', import.meta.url).pathname;

const expectedBody = (offset, length) => fillBody(new Uint8Array(length), offset, length);

/** Runs the child until killed; resolves with the last offset it reported durable. */
function runUntilKilled(dir, policy, killAfterMs) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, dir, policy], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let acked = -1;
    let timer;
    p.stdout.on('data', (d) => {
      out += d;
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('R ')) {
          acked = Math.max(acked, Number(line.split(' ')[1]));
          timer ??= setTimeout(() => p.kill('SIGKILL'), killAfterMs);
        } else if (line.startsWith('A ')) acked = Math.max(acked, Number(line.slice(2)));
      }
    });
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`the appending child exited (${code ?? signal}) before it was killed: ${err}`));
      else resolve(acked);
    });
  });
}

async function crashPolicy(policy) {
  const dir = mkdtempSync(join(tmpdir(), `nanomq-crash-${policy}-`));
  const tally = { kills: 0, acknowledged: 0, recovered: 0, lost: 0, truncatedBytes: 0, damaged: 0 };
  let checkedTo = 0;
  try {
    for (let i = 0; i < KILLS; i++) {
      const acked = await runUntilKilled(dir, policy, 5 + Math.floor(Math.random() * 80));
      tally.kills++;
      const log = WriteAheadLog.open(dir, { durability: policy, segmentBytes: 4 * 1024 * 1024 });
      tally.truncatedBytes += log.recovery.truncatedBytes;
      const recoveredTo = log.endOffset;
      // The log must go on after recovery: one more record, as the child writes them, read back below.
      log.append(expectedBody(recoveredTo, 8 + (i % 100)), 1);
      const end = log.endOffset;
      log.close();
      tally.acknowledged = Math.max(tally.acknowledged, acked);
      tally.recovered = end;
      if (recoveredTo < acked) {
        tally.lost += acked - recoveredTo;
        console.error(`kill ${i + 1}: acknowledged up to ${acked}, the recovered log ends at ${recoveredTo}`);
      }
      // Check what this cycle added (earlier records were checked after earlier kills).
      const reader = new LogReader(dir, checkedTo);
      let readTo = checkedTo;
      try {
        for (let r = reader.next(end); r !== null; r = reader.next(end)) {
          readTo = r.offset + r.count;
          if (r.offset < checkedTo) continue;
          const got = r.bytes.subarray(r.bodyStart, r.bodyStart + r.bodyLength);
          const want = expectedBody(r.offset, r.bodyLength);
          if (Buffer.compare(got, want) !== 0) {
            tally.damaged++;
            console.error(`kill ${i + 1}: the record at offset ${r.offset} does not hold what was written there`);
          }
        }
      } catch (error) {
        console.error(`kill ${i + 1}: ${error.message}`);
      } finally {
        reader.close();
      }
      if (readTo !== end) {
        tally.damaged++;
        console.error(`kill ${i + 1}: read back to offset ${readTo} of ${end}`);
      }
      checkedTo = end;
    }
    const whole = verifyLog(dir);
    if (whole.damage.length > 0 || whole.endOffset !== tally.recovered) {
      tally.damaged += whole.damage.length || 1;
      console.error(`verifyLog: ${JSON.stringify(whole.damage)} (ends at ${whole.endOffset})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `crash test, policy ${policy}: kills ${tally.kills}, acknowledged ${tally.acknowledged}, recovered ${tally.recovered}, lost ${tally.lost}, truncated bytes ${tally.truncatedBytes}${tally.damaged ? `, DAMAGED ${tally.damaged}` : ''}`,
  );
  return tally.lost === 0 && tally.damaged === 0;
}

let ok = true;
for (const policy of ['always', 'batch']) ok = (await crashPolicy(policy)) && ok;
process.exit(ok ? 0 : 1);
