#!/usr/bin/env node
// `node scripts/bench-mmap.mjs [MiB]`: plain fs against mmap for the write-ahead log's two
// bulk paths, on the disk under NANOMQ_WAL_DIR (default the OS temporary directory), so the
// choice the log makes (fs only) rests on a measurement. Needs the native addon (mapFile).
//   write: 1 MiB writeSync calls, then fdatasync    vs  ftruncate + mmap(MAP_SHARED), 1 MiB set()s, then msync
//   read:  1 MiB readSync calls into one buffer     vs  mmap(PROT_READ), 1 MiB views
// Both reads CRC32 every chunk (as the log's reader checks every record), and both run with the
// file in the page cache (the tailing consumer's case: it reads what was just written). Each
// figure is the median of 5 runs, in GB/s; the two writers alternate which goes first.
import { closeSync, fdatasyncSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { median } from '../dist/harness/metrics/stats.js';

const MIB = 1 << 20;
const size = Number(process.argv[2] ?? 512) * MIB;
const addon = createRequire(import.meta.url)('../build/Release/nanomq_native.node');
if (typeof addon.mapFile !== 'function') {
  console.error('bench-mmap: the native addon has no mapFile (npm run build:native)');
  process.exit(2);
}
const dir = mkdtempSync(join(process.env.NANOMQ_WAL_DIR ?? tmpdir(), 'nanomq-bench-mmap-'));
const chunk = new Uint8Array(MIB).map((_, i) => i * 31);
const gbps = (ms) => size / (ms / 1e3) / 1e9;

function fsWrite(path) {
  const fd = openSync(path, 'w');
  const t0 = performance.now();
  for (let at = 0; at < size; at += MIB) writeSync(fd, chunk, 0, MIB, at);
  const written = performance.now();
  fdatasyncSync(fd);
  const synced = performance.now();
  closeSync(fd);
  return [written - t0, synced - t0];
}

function mmapWrite(path) {
  const fd = openSync(path, 'w+');
  ftruncateSync(fd, size);
  closeSync(fd);
  const t0 = performance.now();
  const mapped = addon.mapFile(path, true);
  const bytes = new Uint8Array(mapped);
  for (let at = 0; at < size; at += MIB) bytes.set(chunk, at);
  const written = performance.now();
  addon.syncMapped(mapped);
  const synced = performance.now();
  return [written - t0, synced - t0];
}

function fsRead(path) {
  const fd = openSync(path, 'r');
  const buffer = new Uint8Array(MIB);
  let crc = 0;
  const t0 = performance.now();
  for (let at = 0; at < size; at += MIB) {
    readSync(fd, buffer, 0, MIB, at);
    crc = crc32(buffer, crc);
  }
  const t = performance.now() - t0;
  closeSync(fd);
  return [t, crc];
}

function mmapRead(path) {
  const t0 = performance.now();
  const bytes = new Uint8Array(addon.mapFile(path, false));
  let crc = 0;
  for (let at = 0; at < size; at += MIB) crc = crc32(bytes.subarray(at, at + MIB), crc);
  return [performance.now() - t0, crc];
}

try {
  const runs = { fsWrite: [], fsWriteSynced: [], mmapWrite: [], mmapWriteSynced: [], fsRead: [], mmapRead: [] };
  for (let r = 0; r < 5; r++) {
    const a = join(dir, `fs-${r}`);
    const b = join(dir, `mmap-${r}`);
    // Alternate which goes first: the kernel's writeback of the previous file throttles whichever
    // writes next (seen: 0.3 to 4.4 GB/s for the same call).
    let fw;
    let fws;
    let mw;
    let mws;
    if (r % 2 === 0) {
      [fw, fws] = fsWrite(a);
      [mw, mws] = mmapWrite(b);
    } else {
      [mw, mws] = mmapWrite(b);
      [fw, fws] = fsWrite(a);
    }
    runs.fsWrite.push(fw);
    runs.fsWriteSynced.push(fws);
    runs.mmapWrite.push(mw);
    runs.mmapWriteSynced.push(mws);
    const [fr, c1] = fsRead(a);
    const [mr, c2] = mmapRead(a);
    if (c1 !== c2) throw new Error('the two reads disagree on the CRC');
    runs.fsRead.push(fr);
    runs.mmapRead.push(mr);
    rmSync(a);
    rmSync(b);
  }
  const row = (what, fs, mm) =>
    console.log(
      `${what.padEnd(34)} fs ${gbps(median(fs)).toFixed(2)} GB/s   mmap ${gbps(median(mm)).toFixed(2)} GB/s   mmap/fs ${(median(fs) / median(mm)).toFixed(2)}×`,
    );
  console.log(`${size / MIB} MiB in ${dir.replace(/\/nanomq-bench-mmap-.*/, '')}, median of 5, node ${process.version}`);
  row('write to the page cache', runs.fsWrite, runs.mmapWrite);
  row('write, then fdatasync / msync', runs.fsWriteSynced, runs.mmapWriteSynced);
  row('read + CRC32 (page cache)', runs.fsRead, runs.mmapRead);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
