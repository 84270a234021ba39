/**
 * The log against power loss and failing disks, on a file system that forgets what was not
 * synced (support/power-cut-files.ts): the promise is that every message below `durableOffset`
 * (what the log acknowledged) is there, intact and in order, after any power cut, and that a
 * failed write or sync stops acknowledging for good ("fsyncgate": the simulated disk drops what
 * a failed fdatasync could not write, so a log that retried and acknowledged would lose it).
 *
 * Each run: open (recover), check everything acknowledged before the last cut, append batches of
 * 1–10 messages with bodies up to 64 KiB (so cuts tear records), sync as the policy says, cut the
 * power at a random moment (sometimes keeping a random part of the unsynced tail), repeat. Small
 * segments and retention make rolls and deletions happen many times a run.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../harness/metrics/stats.js';
import { type DurabilityPolicy, LogFailedError, type LogOptions, nowNs, WriteAheadLog } from '../wal/log.js';
import { LogReader } from '../wal/reader.js';
import { type FileOperation, PowerCutFiles } from './support/power-cut-files.js';

const DIR = '/data/log';
const SEGMENT_BYTES = 64 * 1024;
const CUTS = 100;
const RETENTION_BYTES = 4 * SEGMENT_BYTES;

/** The body of the record at `offset`: its bytes follow from the offset, so any swap or flip shows. */
function bodyFor(offset: number, length: number): Uint8Array {
  const body = new Uint8Array(length);
  let x = (offset * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    body[i] = x & 0xff;
  }
  return body;
}

/**
 * How the log is driven: `batch` syncs on the appending thread or libuv's pool (the broker's way),
 * `batch, sync thread` also starts groups on a sync thread of their own (the wal backend's way:
 * the simulated thread syncs at the second poll, so appends and cuts come between).
 */
type Mode = 'batch' | 'batch, sync thread' | 'always';
const MODES: readonly Mode[] = ['batch', 'batch, sync thread', 'always'];

function openLog(files: PowerCutFiles, mode: Mode): WriteAheadLog {
  const durability: DurabilityPolicy = mode === 'always' ? 'always' : 'batch';
  return WriteAheadLog.open(DIR, {
    durability,
    syncThread: mode === 'batch, sync thread',
    files,
    segmentBytes: SEGMENT_BYTES,
    retentionBytes: RETENTION_BYTES,
    groupCommit: { maxDelayUs: 300, maxMessages: 64 },
  });
}

/** Thrown from inside the file system at the instant the power goes, to stop the workload there. */
class PowerWentOut extends Error {}

interface Appended {
  count: number;
  length: number;
}

/**
 * Reads the whole log back: every record must be intact (the reader checks CRCs and offsets)
 * and carry the body its offset says; every record appended below `acknowledged` must be there.
 */
function checkLog(log: WriteAheadLog, files: PowerCutFiles, appended: Map<number, Appended>, acknowledged: number): void {
  expect(log.endOffset).toBeGreaterThanOrEqual(acknowledged);
  const seen = new Set<number>();
  const reader = new LogReader(DIR, log.startOffset, files);
  try {
    for (let r = reader.next(log.endOffset); r !== null; r = reader.next(log.endOffset)) {
      const expected = appended.get(r.offset);
      expect(expected, `record at ${r.offset}`).toBeDefined();
      expect({ offset: r.offset, count: r.count, length: r.bodyLength }).toEqual({ offset: r.offset, count: expected!.count, length: expected!.length });
      expect(Buffer.compare(r.bytes.subarray(r.bodyStart, r.bodyStart + r.bodyLength), bodyFor(r.offset, r.bodyLength)), `body at ${r.offset}`).toBe(0);
      seen.add(r.offset);
    }
  } finally {
    reader.close();
  }
  for (const [offset, a] of appended) {
    if (offset >= log.startOffset && offset + a.count <= acknowledged) expect(seen.has(offset), `acknowledged record at ${offset} lost`).toBe(true);
  }
  // Retention deletes only down to its limit: had it (or a cut) taken more, the loss would hide
  // below startOffset. What it keeps is at least the limit less the last segment it deleted.
  if (log.startOffset > 0) expect(log.sizeBytes, 'kept by retention').toBeGreaterThan(RETENTION_BYTES - SEGMENT_BYTES - 70_000);
  // What did not survive was never acknowledged; its offsets are the log's to give again.
  for (const offset of [...appended.keys()]) if (offset >= log.endOffset) appended.delete(offset);
}

async function appendSome(log: WriteAheadLog, appended: Map<number, Appended>, random: () => number, policy: Mode): Promise<{ rolled: boolean }> {
  const appends = 1 + Math.floor(random() * 40);
  let rolled = false;
  for (let i = 0; i < appends; i++) {
    const count = 1 + Math.floor(random() * 10);
    // Mostly small, sometimes up to 64 KiB: large records are the ones a cut tears.
    const length = random() < 0.2 ? Math.floor(random() * 65536) : 8 + Math.floor(random() * 512);
    const segments = log.segmentCount;
    const offset = log.endOffset;
    // Recorded first: an append that fails may still have written its record.
    appended.set(offset, { count, length });
    log.append(bodyFor(offset, length), count);
    rolled = log.segmentCount !== segments;
    if (policy !== 'always') {
      // The broker's way (an fdatasync on the pool while appends go on, some rolling the
      // segment under it), syncIfDue (on this thread, or started on the sync thread: the wal
      // backend's way, which never uses the pool), and waits between.
      const dice = random();
      if (dice < 0.3 && policy === 'batch') log.syncAsync(() => {});
      else if (dice < 0.4) await new Promise<void>((resolve) => setImmediate(resolve));
      else log.syncIfDue(nowNs());
    }
  }
  return { rolled };
}

describe.each(MODES)('the log under %s, through power cuts', (policy) => {
  it(`keeps every acknowledged message through ${CUTS} power cuts, intact and in order`, async () => {
    const random = seededRandom(policy === 'batch' ? 27 : policy === 'always' ? 72 : 45);
    let files = new PowerCutFiles();
    const appended = new Map<number, Appended>();
    let acknowledged = 0;
    let torn = 0;
    let midRoll = 0;
    let rolls = 0;
    for (let cut = 0; cut < CUTS; cut++) {
      const log = openLog(files, policy);
      if (log.recovery.truncatedBytes > 0) torn++;
      checkLog(log, files, appended, acknowledged);
      const segmentsBefore = log.segmentCount;
      // The power goes at a random call of the log's (between a write and its fdatasync, inside
      // a roll, …), or after the appends: the log is not closed. Sometimes part of a segment's
      // unsynced tail reached the disk (not the LOCK's: a torn pid could name a live process, a
      // case lock.ts leaves out).
      const keepSome = random() < 0.5;
      const tornTail = (path: string, unsynced: number) => (keepSome && path.endsWith('.log') ? Math.floor(random() * unsynced) : 0);
      const cutAtCall = 1 + Math.floor(random() * 60);
      let calls = 0;
      let afterCut: PowerCutFiles | undefined;
      const current = files;
      current.faults = () => {
        if (++calls !== cutAtCall) return undefined;
        acknowledged = log.durableOffset;
        afterCut = current.powerCut(tornTail);
        throw new PowerWentOut();
      };
      let rolled = false;
      try {
        rolled = (await appendSome(log, appended, random, policy)).rolled;
      } catch (error) {
        // The log wraps what the file system threw (LogFailedError): the cut is what happened.
        if (afterCut === undefined) throw error;
        if (log.segmentCount !== segmentsBefore) rolled = true;
      }
      rolls += Math.max(0, log.segmentCount - segmentsBefore);
      if (rolled) midRoll++;
      if (afterCut === undefined) {
        acknowledged = log.durableOffset;
        afterCut = current.powerCut(tornTail);
      }
      current.faults = () => undefined;
      files = afterCut;
    }
    const last = openLog(files, policy);
    checkLog(last, files, appended, acknowledged);
    last.close();
    // The run did what it claims: records torn by cuts, rolls, and cuts just after a roll.
    expect(torn).toBeGreaterThan(5);
    expect(rolls).toBeGreaterThan(10);
    console.info(
      `power cuts (${policy}): ${CUTS} cuts, ${torn} tore a record, ${rolls} segment rolls, ${midRoll} cuts in a run that rolled a segment, 0 acknowledged lost`,
    );
  }, 60_000);
});

/**
 * A failure at each kind of call the log makes while it works, at its first, third and tenth
 * occurrence: from the failure on, nothing more is acknowledged, every later call says the log
 * failed, and after a power cut everything acknowledged before it is there.
 */
const SITES: { operation: FileOperation; code: string }[] = [
  { operation: 'write', code: 'EIO' },
  { operation: 'write', code: 'ENOSPC' },
  { operation: 'syncFile', code: 'EIO' },
  { operation: 'syncDirectory', code: 'EIO' },
  { operation: 'open', code: 'ENOSPC' },
  { operation: 'unlink', code: 'EIO' },
];

describe.each(MODES)('the log under %s, when the disk fails', (policy) => {
  it.each(SITES)(
    '$code at $operation: stops acknowledging at once, and loses nothing acknowledged before',
    async ({ operation, code }) => {
      let fired = 0;
      for (const nth of [1, 3, 10]) {
        const random = seededRandom(nth * 31 + code.length);
        const files = new PowerCutFiles();
        const appended = new Map<number, Appended>();
        const log = openLog(files, policy);
        let seen = 0;
        let failedAt: number | undefined;
        files.faults = (op) => {
          if (op !== operation || ++seen !== nth) return undefined;
          failedAt = log.durableOffset;
          fired++;
          return code;
        };
        for (let round = 0; round < 30 && log.failure === null; round++) {
          try {
            await appendSome(log, appended, random, policy);
          } catch (error) {
            expect(error).toBeInstanceOf(LogFailedError);
          }
        }
        if (failedAt === undefined) continue;
        expect(log.failure).toBeInstanceOf(LogFailedError);
        expect(log.failure!.message).toContain(code);
        // Frozen: nothing more is acknowledged, whatever is asked of it.
        const frozen = log.durableOffset;
        expect(frozen).toBeGreaterThanOrEqual(failedAt);
        files.faults = () => undefined;
        expect(() => log.append(bodyFor(log.endOffset, 8), 1)).toThrow(LogFailedError);
        expect(() => log.sync()).toThrow(LogFailedError);
        while (log.syncInFlight) await new Promise((resolve) => setImmediate(resolve));
        const error = await new Promise<Error | null>((resolve) => log.syncAsync((e) => resolve(e)));
        expect(error).toBeInstanceOf(LogFailedError);
        expect(log.durableOffset).toBe(frozen);
        // The power goes; what was acknowledged is there.
        const after = files.powerCut();
        const reopened = openLog(after, policy);
        checkLog(reopened, after, appended, frozen);
        reopened.close();
      }
      expect(fired).toBeGreaterThan(0);
    },
    60_000,
  );
});

describe('file descriptors and an fdatasync still running on the pool', () => {
  it('a roll keeps the old segment open until that fdatasync ends, so it neither fails (EBADF) nor syncs a reused number', async () => {
    const files = new PowerCutFiles();
    const log = WriteAheadLog.open(DIR, { durability: 'batch', files, segmentBytes: 4096 });
    log.append(bodyFor(0, 1000), 1);
    const synced = new Promise<Error | null>((resolve) => log.syncAsync((error) => resolve(error)));
    // This one does not fit: the log rolls while the fdatasync above waits for the pool.
    log.append(bodyFor(1, 4000), 1);
    expect(log.segmentCount).toBe(2);
    expect(await synced).toBeNull();
    expect(log.failure).toBeNull();
    log.close();
  });

  it("a sync on this thread meanwhile moves nothing: only the pool's fdatasync ending well does (Linux tells one of the two of an error)", async () => {
    const files = new PowerCutFiles();
    const log = WriteAheadLog.open(DIR, { durability: 'batch', files });
    log.append(bodyFor(0, 100), 1);
    const synced = new Promise<Error | null>((resolve) => log.syncAsync((error) => resolve(error)));
    log.append(bodyFor(1, 100), 1);
    log.sync();
    expect(log.durableOffset).toBe(0);
    // The pool's fdatasync is the one that hears of the failed writeback.
    files.faults = (operation) => (operation === 'syncFile' ? 'EIO' : undefined);
    expect(await synced).toBeInstanceOf(LogFailedError);
    expect(log.durableOffset).toBe(0);
  });

  it('close waits for it too, and gives the lock back after', async () => {
    const files = new PowerCutFiles();
    const log = WriteAheadLog.open(DIR, { durability: 'batch', files });
    log.append(bodyFor(0, 100), 1);
    const synced = new Promise<Error | null>((resolve) => log.syncAsync((error) => resolve(error)));
    log.close();
    expect(files.exists(`${DIR}/LOCK`)).toBe(true);
    expect(await synced).toBeNull();
    expect(files.exists(`${DIR}/LOCK`)).toBe(false);
  });
});

/**
 * A sync thread the test ends by hand: `end(outcome)` makes the running fdatasync end with it
 * (null: it succeeded), as the thread would at a moment the log does not choose.
 */
function handDrivenSyncThread(files: PowerCutFiles): { end: (outcome: Error | null) => void; started: () => number } {
  let running = false;
  let ended: Error | null | undefined;
  let starts = 0;
  files.backgroundSync = () => ({
    get running() {
      return running;
    },
    lastSyncNs: 0,
    start: () => {
      running = true;
      ended = undefined;
      starts++;
    },
    poll: () => {
      if (!running || ended === undefined) return running ? undefined : null;
      running = false;
      return ended;
    },
    wait: () => {
      running = false;
      // Waited for before the test ended it: it ends now, as the test last said (default: well).
      return ended ?? null;
    },
    close: () => {},
  });
  return { end: (outcome) => (ended = outcome), started: () => starts };
}

/** A `batch` log with `syncThread` on a fresh simulated disk, its thread driven by the test. */
function logOnHandDrivenThread(options: Pick<LogOptions, 'segmentBytes' | 'groupCommit'>) {
  const files = new PowerCutFiles();
  const thread = handDrivenSyncThread(files);
  const log = WriteAheadLog.open(DIR, { durability: 'batch', files, syncThread: true, ...options });
  return { files, thread, log };
}

describe('the sync thread (option syncThread: the wal backend, whose producer never yields to its event loop)', () => {
  const eio = () => Object.assign(new Error('EIO: fdatasync'), { code: 'EIO' });

  it('appends go on while its fdatasync runs; what it covered becomes durable when it is seen to end, not what came after', () => {
    const { thread, log } = logOnHandDrivenThread({ groupCommit: { maxDelayUs: 0 } });
    log.append(bodyFor(0, 100), 1);
    expect(log.syncIfDue(nowNs())).toBe(true);
    log.append(bodyFor(1, 100), 1);
    expect(log.syncIfDue(nowNs())).toBe(false);
    expect(log.durableOffset).toBe(0);
    thread.end(null);
    log.syncIfDue(nowNs());
    expect(log.durableOffset).toBe(1);
    // The next group started as soon as the first was seen to end.
    expect(thread.started()).toBe(2);
    log.close();
  });

  it("a sync on this thread waits for it, and its failure is the log's: a later success proves nothing (fsyncgate)", () => {
    const { thread, log } = logOnHandDrivenThread({ groupCommit: { maxDelayUs: 0 } });
    log.append(bodyFor(0, 100), 1);
    log.syncIfDue(nowNs());
    log.append(bodyFor(1, 100), 1);
    thread.end(eio());
    expect(() => log.sync()).toThrow(LogFailedError);
    expect(log.durableOffset).toBe(0);
    expect(() => log.append(bodyFor(2, 100), 1)).toThrow(LogFailedError);
  });

  it('a roll waits for it before the old segment is closed or the new one begun', () => {
    const { thread, log } = logOnHandDrivenThread({ segmentBytes: 4096, groupCommit: { maxDelayUs: 0 } });
    log.append(bodyFor(0, 1000), 1);
    log.syncIfDue(nowNs());
    thread.end(eio());
    // This one does not fit: the roll must hear of the failure before it begins the next segment.
    expect(() => log.append(bodyFor(1, 4000), 1)).toThrow(LogFailedError);
    expect(log.segmentCount).toBe(1);
    expect(log.durableOffset).toBe(0);
  });

  it('close waits for it, then syncs the rest itself: everything appended survives a power cut after', () => {
    const { files, thread, log } = logOnHandDrivenThread({ groupCommit: { maxDelayUs: 0 } });
    log.append(bodyFor(0, 100), 1);
    log.syncIfDue(nowNs());
    log.append(bodyFor(1, 100), 1);
    thread.end(null);
    log.close();
    expect(log.durableOffset).toBe(2);
    const after = files.powerCut();
    const reopened = openLog(after, 'batch');
    expect(reopened.endOffset).toBe(2);
    reopened.close();
  });

  it('a group is due once it holds maxBytes, whatever its age and count', () => {
    const { log } = logOnHandDrivenThread({ groupCommit: { maxDelayUs: 1e9, maxMessages: 1e9, maxBytes: 4096 } });
    log.append(bodyFor(0, 1000), 1);
    expect(log.syncIfDue(nowNs())).toBe(false);
    expect(log.syncDelayNs(nowNs())).toBeGreaterThan(0);
    log.append(bodyFor(1, 3000), 1);
    expect(log.syncDelayNs(nowNs())).toBe(0);
    expect(log.syncIfDue(nowNs())).toBe(true);
  });

  it('a full log hands what is unsynced to the thread (syncSoon) and says so when the thread failed', () => {
    // maxDelayUs and maxMessages far off: only syncSoon starts a group here.
    const { thread, log } = logOnHandDrivenThread({ groupCommit: { maxDelayUs: 1e9, maxMessages: 1e9 } });
    log.append(bodyFor(0, 100), 1);
    expect(log.syncIfDue(nowNs())).toBe(false);
    log.syncSoon();
    expect(thread.started()).toBe(1);
    thread.end(null);
    log.awaitSyncThread();
    expect(log.durableOffset).toBe(1);
    log.append(bodyFor(1, 100), 1);
    log.syncSoon();
    thread.end(eio());
    expect(() => log.syncSoon()).toThrow(LogFailedError);
    expect(log.durableOffset).toBe(1);
  });

  it("the pool's fdatasync is refused while the thread's runs (Linux tells one of two of an error)", () => {
    const { log } = logOnHandDrivenThread({ groupCommit: { maxDelayUs: 0 } });
    log.append(bodyFor(0, 100), 1);
    log.syncIfDue(nowNs());
    expect(log.syncInFlight).toBe(true);
    expect(log.syncAsync(() => {})).toBe(false);
    log.close();
    expect(log.durableOffset).toBe(1);
  });
});
