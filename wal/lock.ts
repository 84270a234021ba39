/**
 * One writer per log directory. The writer writes its pid into a file of its own and links it
 * to `DIR/LOCK`, which fails if LOCK exists (so a lock is never seen without its pid); a second writer is refused with the holder's pid. A lock whose process is gone (a
 * writer killed by SIGKILL never removes it) is taken over, so recovery after a crash needs no
 * hand; a LOCK file in any other form is never removed. Within one process a set of held
 * directories refuses a second open of the same log, since the pid would be our own.
 *
 * Taking over a stale lock is atomic (takeOverStale), and a writer removes only its own lock.
 *
 * Not covered: a pid reused by an unrelated process after the writer died (the lock then looks
 * held until that process exits), two hosts sharing the directory over a network file system,
 * and a third process creating the lock in the instant a wrongly moved live lock is put back
 * (the put-back then fails, and the live writer's unlock leaves the newcomer's lock alone).
 */
import { join, resolve } from 'node:path';
import { type LogFiles, nodeFiles } from './files.js';

export class LogLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: number,
  ) {
    super(`${dir} is open for writing by process ${holder}${holder === process.pid ? ' (this one)' : ''}: a log has one writer at a time`);
    this.name = 'LogLockedError';
  }
}

/** Directories whose lock this process holds, per file system (a test's simulated one is another machine). */
const heldHere = new WeakMap<LogFiles, Set<string>>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const LOCK_TEXT = /^(\d+\n?)?$/;

/** Takes the directory's write lock; returns the function that gives it back. */
export function lockLog(dir: string, files: LogFiles = nodeFiles): () => void {
  const key = resolve(dir);
  const held = heldHere.get(files) ?? new Set<string>();
  heldHere.set(files, held);
  if (held.has(key)) throw new LogLockedError(dir, process.pid);
  const path = join(dir, 'LOCK');
  const mine = `${process.pid}\n`;
  // The pid is written first, in a file of this process's own, and the lock is then created by
  // linking that file to LOCK, which fails if LOCK exists: the lock never exists without its
  // pid, so no one can take a half-made lock for a stale one.
  const own = `${path}.${process.pid}`;
  const fd = files.open(own, 'w');
  try {
    files.write(fd, mine);
  } finally {
    files.close(fd);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        files.link(own, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
        takeOverStale(dir, path, files);
      }
    }
  } finally {
    files.unlink(own);
  }
  const ino = files.stat(path).ino;
  held.add(key);
  return () => {
    held.delete(key);
    // Only our own lock is removed: the same file, still saying our pid. Another writer's,
    // however it came to be there, stays.
    try {
      if (files.stat(path).ino === ino && decode(files.readFile(path)) === mine) files.unlink(path);
    } catch {
      // Already gone: nothing to give back.
    }
  };
}

/**
 * Removes a lock whose writer is gone, atomically: the stale file is renamed aside, and removed
 * only when what was renamed is the file that was read (same inode, same text). Had another
 * process taken the lock over in between, its live lock is what was renamed: it is put back, and
 * this one is refused. Without the check, two processes that both read the stale lock could both
 * remove "it" and both go on to hold the log.
 */
function takeOverStale(dir: string, path: string, files: LogFiles): void {
  const seen = { ino: files.stat(path).ino, text: decode(files.readFile(path)) };
  // Only a file this lock wrote is ever removed: a pid and a newline, or nothing (a writer
  // killed between creating it and writing its pid).
  if (!LOCK_TEXT.test(seen.text)) throw new Error(`${path} is not a NanoMQ lock file; nothing was changed (move it aside if the directory is meant for a log)`);
  const holder = Number.parseInt(seen.text, 10);
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) throw new LogLockedError(dir, holder);
  const aside = `${path}.stale.${process.pid}`;
  files.rename(path, aside);
  const moved = { ino: files.stat(aside).ino, text: decode(files.readFile(aside)) };
  if (moved.ino !== seen.ino || moved.text !== seen.text) {
    try {
      files.link(aside, path);
    } finally {
      files.unlink(aside);
    }
    throw new LogLockedError(dir, Number.parseInt(moved.text, 10) || 0);
  }
  files.unlink(aside);
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
