/**
 * One writer per log directory. The writer creates `DIR/LOCK` exclusively (O_EXCL) and writes its
 * pid into it; a second writer is refused with the holder's pid. A lock whose process is gone (a
 * writer killed by SIGKILL never removes it) is taken over, so recovery after a crash needs no
 * hand; a LOCK file in any other form is never removed. Within one process a set of held
 * directories refuses a second open of the same log, since the pid would be our own.
 *
 * Not covered: a pid reused by an unrelated process after the writer died (the lock then looks
 * held until that process exits), and two hosts sharing the directory over a network file system.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class LogLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: number,
  ) {
    super(`${dir} is open for writing by process ${holder}${holder === process.pid ? ' (this one)' : ''}: a log has one writer at a time`);
    this.name = 'LogLockedError';
  }
}

const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory's write lock; returns the function that gives it back. */
export function lockLog(dir: string): () => void {
  const key = resolve(dir);
  if (heldHere.has(key)) throw new LogLockedError(dir, process.pid);
  const path = join(dir, 'LOCK');
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const text = readFileSync(path, 'utf8');
      // Only a file this lock wrote is ever removed: a pid and a newline, or nothing (a writer
      // killed between creating it and writing its pid).
      if (!/^(\d+\n?)?$/.test(text))
        throw new Error(`${path} is not a NanoMQ lock file; nothing was changed (move it aside if the directory is meant for a log)`);
      const holder = Number.parseInt(text, 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) throw new LogLockedError(dir, holder);
      // Stale: its writer is gone.
      unlinkSync(path);
    }
  }
  heldHere.add(key);
  return () => {
    heldHere.delete(key);
    try {
      unlinkSync(path);
    } catch {
      // Already gone: nothing to give back.
    }
  };
}
