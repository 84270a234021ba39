/**
 * The write-ahead log (wal/): appends read back from any offset across segment files, the
 * durability policies' moment of acknowledgement, one writer per directory, retention, and
 * recovery: a log truncated or corrupted at a random byte keeps exactly its valid prefix, and
 * damage with valid records after it is reported, never cut. The crash test (kills mid-append)
 * is scripts/crash-test.mjs (`npm run test:crash`).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { wal } from '../implementations/wal/backend.js';
import { nodeFiles, type OpenMode } from '../wal/files.js';
import { LogLockedError } from '../wal/lock.js';
import { LogCorruptError, nowNs, WriteAheadLog } from '../wal/log.js';
import { LogReader, verifyLog } from '../wal/reader.js';
import { LOG_RECORD_HEADER_BYTES, logRecordBytes } from '../wal/record.js';
import { listSegments } from '../wal/segments.js';
import { SyncThread } from '../wal/sync-thread.js';
import { tempDir } from './support/cli.js';
import { PowerCutFiles } from './support/power-cut-files.js';

const dirs: string[] = [];
const logs: WriteAheadLog[] = [];
function freshDir(): string {
  const d = tempDir('wal-test');
  dirs.push(d);
  return d;
}
function open(dir: string, options: Parameters<typeof WriteAheadLog.open>[1] = {}): WriteAheadLog {
  const log = WriteAheadLog.open(dir, options);
  logs.push(log);
  return log;
}
afterEach(() => {
  for (const l of logs.splice(0)) l.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Body of record k: `count` messages' worth of bytes that say which record they are. */
function body(k: number, length = 8 + (k % 37)): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (k * 31 + i) & 0xff;
  return b;
}

function readAll(dir: string, from = 0, limit?: number): { offset: number; count: number; body: number[] }[] {
  const reader = new LogReader(dir, from);
  const out: { offset: number; count: number; body: number[] }[] = [];
  for (let r = reader.next(limit); r !== null; r = reader.next(limit)) {
    out.push({ offset: r.offset, count: r.count, body: [...r.bytes.subarray(r.bodyStart, r.bodyStart + r.bodyLength)] });
  }
  reader.close();
  return out;
}

describe('appending and reading', () => {
  it('reads back every record, in order, intact, from any offset, across segment files', () => {
    const dir = freshDir();
    const log = open(dir, { segmentBytes: 1024 });
    const offsets: number[] = [];
    for (let k = 0; k < 200; k++) offsets.push(log.append(body(k), 1 + (k % 3)));
    expect(listSegments(dir).length).toBeGreaterThan(10);
    expect(log.endOffset).toBe(offsets[199] + 1 + (199 % 3));
    const all = readAll(dir, 0, log.durableOffset);
    expect(all.map((r) => r.offset)).toEqual(offsets);
    for (const [k, r] of all.entries()) expect(r.body).toEqual([...body(k)]);
    // From inside a record of three messages (its second and its last): that record first (the
    // caller skips into it), then the rest. (At a one-message record, "inside" is its start.)
    const k = 122;
    expect(1 + (k % 3)).toBe(3);
    for (const inside of [offsets[k] + 1, offsets[k] + 2]) {
      const tail = readAll(dir, inside, log.durableOffset);
      expect(tail[0].offset).toBe(offsets[k]);
      expect(tail.map((r) => r.offset)).toEqual(offsets.slice(k));
    }
    expect(verifyLog(dir)).toEqual({ records: 200, endOffset: log.endOffset, damage: [] });
  });

  it('a reader tails the writer: it sees each record once it is written, and nothing partial', () => {
    const dir = freshDir();
    const log = open(dir, { segmentBytes: 4096 });
    const reader = new LogReader(dir, 0);
    let seen = 0;
    for (let k = 0; k < 100; k++) {
      log.append(body(k, 100), 1);
      const r = reader.next();
      expect(r?.offset).toBe(k);
      expect(reader.next()).toBeNull();
      seen++;
    }
    reader.close();
    expect(seen).toBe(100);
  });

  it('reads each byte of the files once, whatever the record sizes: a read ending inside a record is continued, not redone', () => {
    const dir = freshDir();
    const log = open(dir, { segmentBytes: 16 * 1024 * 1024 });
    // Records from 100 B to 1.5 MiB, so reads end inside records, and some outgrow the buffer.
    const sizes = Array.from({ length: 40 }, (_, k) => (k % 5 === 0 ? 1_500_000 : k % 3 === 0 ? 700_000 + k : 100 + k * 977));
    for (const [k, size] of sizes.entries()) log.append(body(k, size), 1);
    let bytesRead = 0;
    const counting = {
      ...nodeFiles,
      read: (fd: number, into: Uint8Array, offset: number, length: number, position: number) => {
        const n = nodeFiles.read(fd, into, offset, length, position);
        bytesRead += n;
        return n;
      },
    };
    const reader = new LogReader(dir, 0, counting);
    for (const [k, size] of sizes.entries()) {
      const r = reader.next(log.durableOffset);
      expect(r?.offset).toBe(k);
      expect(Buffer.compare(r!.bytes.subarray(r!.bodyStart, r!.bodyStart + r!.bodyLength), body(k, size))).toBe(0);
    }
    expect(reader.next(log.durableOffset)).toBeNull();
    reader.close();
    const fileBytes = listSegments(dir).reduce((sum, s) => sum + statSync(s.path).size, 0);
    // Re-reading from a record's start whenever a read ended inside it read 1.5–1.9× the files.
    expect(bytesRead).toBe(fileBytes);
  });

  it('a tailer that kept part of a torn record reads what a new writer appended over it', () => {
    const dir = freshDir();
    let log = WriteAheadLog.open(dir);
    log.append(body(0, 100), 1);
    log.append(body(1, 5000), 1);
    log.close();
    // The writer died inside its last append: half of that record reached the file.
    const segment = listSegments(dir)[0].path;
    truncateSync(segment, statSync(segment).size - 2500);
    const reader = new LogReader(dir, 0);
    expect(reader.next()?.offset).toBe(0);
    expect(reader.next()).toBeNull();
    // A new writer cuts the torn record and appends another, shorter one, at the same offset.
    log = open(dir);
    log.append(body(7, 3000), 1);
    const r = reader.next();
    reader.close();
    expect(r?.offset).toBe(1);
    expect(Buffer.compare(r!.bytes.subarray(r!.bodyStart, r!.bodyStart + r!.bodyLength), body(7, 3000))).toBe(0);
  });

  it('refuses an empty record', () => {
    const log = open(freshDir());
    expect(() => log.append(body(0), 0)).toThrow(RangeError);
  });
});

describe('durability policies: when an append is acknowledged', () => {
  it('none: at once; always: synced before append returns; batch: once a group commit covers it', () => {
    const none = open(freshDir(), { durability: 'none' });
    none.append(body(1), 5);
    expect(none.durableOffset).toBe(5);
    expect(none.syncs).toBe(0);

    const always = open(freshDir(), { durability: 'always' });
    always.append(body(1), 5);
    expect(always.durableOffset).toBe(5);
    expect(always.syncs).toBe(1);

    const batch = open(freshDir(), { durability: 'batch', groupCommit: { maxMessages: 10, maxDelayUs: 60e6 } });
    const now = nowNs();
    batch.append(body(1), 4);
    expect(batch.durableOffset).toBe(0);
    expect(batch.syncIfDue(now)).toBe(false);
    batch.append(body(2), 6);
    expect(batch.syncIfDue(now)).toBe(true);
    expect(batch.durableOffset).toBe(10);
    batch.append(body(3), 1);
    // Due by age once maxDelayUs has passed since the first unsynced append.
    expect(batch.syncDue(nowNs() + 61e9)).toBe(true);
    expect(batch.syncDelayNs(nowNs())).toBeGreaterThan(0);
  });

  it('syncAsync covers what was appended before it, not after', async () => {
    const log = open(freshDir(), { durability: 'batch' });
    log.append(body(1), 3);
    const done = new Promise<number>((resolve, reject) => log.syncAsync((error, durable) => (error ? reject(error) : resolve(durable))));
    expect(log.syncAsync(() => {})).toBe(false);
    log.append(body(2), 2);
    expect(await done).toBe(3);
    expect(log.durableOffset).toBe(3);
  });
});

describe('the sync thread (wal/sync-thread.ts), on real files', () => {
  it('fdatasyncs off this thread, one at a time, waits for it, says how a failed one failed, and ends', () => {
    const dir = freshDir();
    const thread = new SyncThread();
    try {
      const fd = nodeFiles.open(join(dir, 'f'), 'w+');
      nodeFiles.writev(fd, [body(1, 256 * 1024)], 0);
      thread.start(fd);
      expect(() => thread.start(fd)).toThrow(/still running/);
      expect(thread.wait()).toBeNull();
      expect(thread.running).toBe(false);
      // Measured on the thread, once its fdatasync returned: a wait that did not wait reads -1 (0 ns).
      expect(thread.lastSyncNs).toBeGreaterThan(0);
      nodeFiles.close(fd);
      // A number no open file has (one the process could not have reached): EBADF, by name.
      thread.start(2 ** 30);
      let outcome = thread.poll();
      while (outcome === undefined) outcome = thread.poll();
      expect(outcome).toMatchObject({ code: 'EBADF' });
    } finally {
      thread.close();
    }
    expect(thread.exited).toBe(true);
  });

  it('a thread that left its loop with a sync asked of it is reported as a failed sync, not waited for forever', () => {
    const thread = new SyncThread();
    try {
      // As if its loop had ended on its own (word 4 is its stop word): the sync asked next is never made.
      Atomics.store(Reflect.get(thread, 'control') as Int32Array, 4, 1);
      thread.start(2 ** 30);
      expect(thread.wait()).toMatchObject({ code: 'EIO', message: expect.stringContaining("the log's sync thread ended") });
      expect(thread.running).toBe(false);
    } finally {
      thread.close();
    }
  });

  it('under batch, a log with syncThread acknowledges only once a group is synced, and close makes the rest durable', () => {
    const dir = freshDir();
    const log = open(dir, { durability: 'batch', syncThread: true, groupCommit: { maxDelayUs: 0 } });
    log.append(body(0, 1000), 1);
    expect(log.durableOffset).toBe(0);
    expect(log.syncIfDue(nowNs())).toBe(true);
    while (log.syncInFlight);
    expect(log.durableOffset).toBe(1);
    log.append(body(1, 1000), 1);
    log.close();
    const reopened = WriteAheadLog.open(dir);
    expect(reopened.endOffset).toBe(2);
    reopened.close();
  });
});

describe('the wal backend under batch, its log full', () => {
  it('awaitSpace leaves everything appended durable and published (the sync thread busy meanwhile): the consumer can read it all', () => {
    const d = wal.create({ capacityBytes: 64 * 1024, producers: 1, consumers: 1, maxMessageBytes: 1024, durability: 'batch' });
    const producer = wal.producer(d, 0);
    const consumer = wal.consumer(d, 0);
    try {
      let sent = 0;
      let received = 0;
      for (let round = 0; round < 5; round++) {
        // Appends until the log is full: its consumer has read nothing yet.
        for (let n = producer.claim(16, 1024); n > 0; n = producer.claim(16, 1024)) {
          const view = new DataView(producer.buffer.buffer, producer.buffer.byteOffset);
          for (let i = 0; i < n; i++) view.setInt32(producer.offsetOf(i), sent + i, true);
          producer.commit();
          sent += n;
        }
        // No consumer runs while it waits: it returns once its wait times out.
        producer.awaitSpace(0);
        const visit = (buffer: Uint8Array, offset: number) => {
          expect(new DataView(buffer.buffer, buffer.byteOffset).getInt32(offset, true)).toBe(received);
          received++;
        };
        while (consumer.drain(1024, visit) > 0);
        expect(received, `round ${round}`).toBe(sent);
      }
      expect(sent).toBeGreaterThan(200);
    } finally {
      producer.close();
      consumer.close();
      wal.destroy?.(d);
    }
  });
});

describe('one writer per log', () => {
  it('refuses a second writer with the holder named, and lets it in after close', () => {
    const dir = freshDir();
    const first = WriteAheadLog.open(dir);
    expect(() => WriteAheadLog.open(dir)).toThrow(LogLockedError);
    expect(() => WriteAheadLog.open(dir)).toThrow(/open for writing by process \d+/);
    first.close();
    open(dir);
  });

  it('refuses a writer in another live process, and takes over the lock of a dead one', () => {
    const dir = freshDir();
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout.toString());
    writeFileSync(join(dir, 'LOCK'), `${deadPid}\n`);
    open(dir).close();
    writeFileSync(join(dir, 'LOCK'), `${process.ppid}\n`);
    expect(() => WriteAheadLog.open(dir)).toThrow(new RegExp(`process ${process.ppid}`));
    rmSync(join(dir, 'LOCK'));
  });

  it('takes over a stale lock atomically: a live lock that replaced it meanwhile is put back, and this writer refused', () => {
    const files = new PowerCutFiles();
    files.mkdir('/log');
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const stale = `${Number(child.stdout.toString())}\n`;
    const live = `${process.ppid}\n`;
    const writeLock = (text: string) => {
      const fd = files.open('/log/LOCK', 'w');
      files.write(fd, text);
      files.close(fd);
    };
    writeLock(stale);
    // Between this writer's reading the stale lock and moving it aside, another process takes
    // it over (removes it, writes its own): a read-unlink-retry lock would remove that one.
    let raced = false;
    files.faults = (operation) => {
      if (operation === 'rename' && !raced) {
        raced = true;
        files.unlink('/log/LOCK');
        writeLock(live);
      }
      return undefined;
    };
    expect(() => WriteAheadLog.open('/log', { files })).toThrow(new RegExp(`process ${process.ppid}`));
    expect(new TextDecoder().decode(files.readFile('/log/LOCK'))).toBe(live);
    expect(files.list('/log').filter((f) => f.startsWith('LOCK'))).toEqual(['LOCK']);
  });

  it('gives back only its own lock', () => {
    const files = new PowerCutFiles();
    const log = WriteAheadLog.open('/log', { files });
    // Someone else's lock where ours was (removed by hand, then taken by another writer).
    files.unlink('/log/LOCK');
    const fd = files.open('/log/LOCK', 'wx');
    files.write(fd, `${process.ppid}\n`);
    files.close(fd);
    log.close();
    expect(new TextDecoder().decode(files.readFile('/log/LOCK'))).toBe(`${process.ppid}\n`);
  });

  it('never removes a LOCK file it did not write', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'LOCK'), 'a file of the user\n');
    expect(() => WriteAheadLog.open(dir)).toThrow(/is not a NanoMQ lock file; nothing was changed/);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe('a file of the user\n');
  });
});

describe('retention', () => {
  it('deletes the oldest sealed segments past the size limit, never the active one', () => {
    const dir = freshDir();
    const log = open(dir, { segmentBytes: 1024, retentionBytes: 4096 });
    for (let k = 0; k < 300; k++) log.append(body(k, 100), 1);
    expect(log.sizeBytes).toBeLessThanOrEqual(4096 + 1024);
    expect(log.startOffset).toBeGreaterThan(0);
    const kept = readAll(dir, log.startOffset, log.durableOffset);
    expect(kept[0].offset).toBe(log.startOffset);
    expect(kept[kept.length - 1].offset).toBe(299);
  });

  it('deletes sealed segments older than the age limit', () => {
    const dir = freshDir();
    const log = open(dir, { segmentBytes: 1024, retentionMs: 60_000 });
    for (let k = 0; k < 50; k++) log.append(body(k, 100), 1);
    const before = listSegments(dir);
    const old = new Date(Date.now() - 120_000);
    utimesSync(before[0].path, old, old);
    utimesSync(before[1].path, old, old);
    expect(log.applyRetention()).toBe(2);
    expect(log.startOffset).toBe(before[2].firstOffset);
  });
});

describe('recovery', () => {
  it('a record-shaped payload cannot make recovery refuse the log: the CRC starts from the log key, which no client knows', () => {
    const dir = freshDir();
    const log = open(dir, { durability: 'always' });
    log.append(body(1, 100), 1);
    // A publisher's batch that carries, 8-aligned, a whole record with a correct plain CRC32
    // (what anyone who read record.ts could make), then more bytes.
    const forged = new Uint8Array(logRecordBytes(40));
    const view = new DataView(forged.buffer);
    view.setUint32(0, 0x4c514d4e, true);
    view.setUint32(8, 5, true);
    view.setUint32(16, 1, true);
    view.setUint32(20, 40, true);
    view.setUint32(4, crc32(forged.subarray(8, LOG_RECORD_HEADER_BYTES + 40)), true);
    const batch = new Uint8Array(64 + forged.length + 4000);
    batch.set(forged, 64);
    log.append(batch, 3);
    log.close();
    // A crash tears that batch after the forged record: the real record is damaged, the forged
    // one whole. It must be taken for what it is, the inside of a torn tail.
    const file = listSegments(dir)[0].path;
    truncateSync(file, statSync(file).size - 2000);
    const reopened = open(dir);
    expect(reopened.recovery.truncatedBytes).toBeGreaterThan(0);
    expect(reopened.endOffset).toBe(1);
  });

  /** A closed log of `n` records in one segment, and each record's end byte. */
  function writeLog(n: number): { dir: string; ends: number[]; file: string } {
    const dir = freshDir();
    const log = WriteAheadLog.open(dir);
    const ends: number[] = [];
    let at = 0;
    for (let k = 0; k < n; k++) {
      const b = body(k);
      log.append(b, 1);
      at += logRecordBytes(b.length);
      ends.push(at);
    }
    log.close();
    return { dir, ends, file: listSegments(dir)[0].path };
  }

  it('a log cut at any byte keeps exactly the records wholly before the cut, says what it cut, and appends after them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.nat(), (n, seed) => {
        const { dir, ends, file } = writeLog(n);
        const cut = seed % (ends[n - 1] + 1);
        truncateSync(file, cut);
        const whole = ends.filter((e) => e <= cut).length;
        const log = WriteAheadLog.open(dir);
        try {
          expect(log.endOffset).toBe(whole);
          expect(log.recovery.truncatedBytes).toBe(cut - (whole === 0 ? 0 : ends[whole - 1]));
          expect(statSync(file).size).toBe(whole === 0 ? 0 : ends[whole - 1]);
          log.append(body(1000), 1);
          expect(readAll(dir, 0, log.durableOffset).map((r) => r.offset)).toEqual([...Array(whole + 1).keys()]);
        } finally {
          log.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 60 },
    );
  });

  it('a flipped byte in the last record cuts that record; in an earlier one it is reported, never cut; in padding it is harmless', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 20 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (n, seed, xor) => {
        const { dir, ends, file } = writeLog(n);
        const bytes = readFileSync(file);
        const p = seed % bytes.length;
        bytes[p] ^= xor;
        writeFileSync(file, bytes);
        const k = ends.findIndex((e) => p < e);
        const start = k === 0 ? 0 : ends[k - 1];
        const inPadding = p >= start + LOG_RECORD_HEADER_BYTES + body(k).length;
        try {
          if (inPadding) {
            const log = WriteAheadLog.open(dir);
            expect(log.endOffset).toBe(n);
            log.close();
          } else if (k === n - 1) {
            const log = WriteAheadLog.open(dir);
            expect(log.endOffset).toBe(n - 1);
            expect(log.recovery.truncated?.position).toBe(start);
            log.close();
          } else {
            expect(() => WriteAheadLog.open(dir)).toThrow(LogCorruptError);
            // Nothing was cut: the file is as the damage left it.
            expect(statSync(file).size).toBe(bytes.length);
            expect(verifyLog(dir).damage[0]).toMatchObject({ position: start });
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 80 },
    );
  });

  it('damage in a sealed segment is reported by a reader of acknowledged records and by verifyLog', () => {
    const dir = freshDir();
    const log = open(dir, { segmentBytes: 1024 });
    for (let k = 0; k < 40; k++) log.append(body(k, 100), 1);
    const sealed = listSegments(dir)[1];
    const bytes = readFileSync(sealed.path);
    bytes[LOG_RECORD_HEADER_BYTES + 3] ^= 0x40;
    writeFileSync(sealed.path, bytes);
    expect(() => readAll(dir, 0, log.durableOffset)).toThrow(LogCorruptError);
    expect(verifyLog(dir).damage).toEqual([expect.objectContaining({ file: sealed.path, position: 0, reason: 'crc' })]);
  });
});

describe('LogReader out of file descriptors', () => {
  it('says so at a segment boundary, instead of reporting the log ended (damage) there', () => {
    const dir = freshDir();
    const log = open(dir, { segmentBytes: 4096 });
    for (let k = 0; k < 200; k++) log.append(body(k, 200), 1);
    log.close();
    logs.length = 0;
    let opens = 0;
    const exhausted = {
      ...nodeFiles,
      open: (path: string, mode: OpenMode) => {
        // The first segment opens; the next one finds no descriptor left.
        if (path.endsWith('.log') && ++opens > 1) throw Object.assign(new Error(`EMFILE: too many open files, open '${path}'`), { code: 'EMFILE' });
        return nodeFiles.open(path, mode);
      },
    };
    const reader = new LogReader(dir, 0, exhausted);
    try {
      let thrown: unknown;
      try {
        while (reader.next(200) !== null) {}
      } catch (error) {
        thrown = error;
      }
      expect(thrown).not.toBeInstanceOf(LogCorruptError);
      expect((thrown as NodeJS.ErrnoException).code).toBe('EMFILE');
    } finally {
      reader.close();
    }
  });
});
