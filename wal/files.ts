/**
 * Every file-system call the log makes, in one place: the log, its reader, its lock and the
 * broker's log storage take a `LogFiles` (default: `nodeFiles`, straight to node:fs), so a test
 * can put a file system under them that fails a chosen call (EIO, ENOSPC) or loses, at a
 * simulated power cut, everything not yet synced (test/support/power-cut-files.ts), which is
 * what a log is judged by: SIGKILL leaves the page cache whole and proves nothing about syncs.
 *
 * Only what the log needs, named for what it means to the log: `syncFile` is an fdatasync (the
 * data and the size, not the times), `syncDirectory` an fsync of a directory (its entries: a
 * file created, renamed or removed in it lasts only once this returns).
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type BackgroundSync, SyncThread } from './sync-thread.js';

/** How a file is opened: read, read and write, create or empty it, or create it only if absent (EEXIST). */
export type OpenMode = 'r' | 'r+' | 'w' | 'w+' | 'wx';

export interface LogFiles {
  open(path: string, mode: OpenMode): number;
  close(fd: number): void;
  /** Writes `parts` one after another at `position`; returns the bytes written. */
  writev(fd: number, parts: readonly Uint8Array[], position: number): number;
  /** Writes at the file's current position (small files: a lock's pid, groups.json). */
  write(fd: number, data: string | Uint8Array): number;
  read(fd: number, into: Uint8Array, offset: number, length: number, position: number): number;
  readFile(path: string): Uint8Array;
  /** Size in bytes, last modification (ms since the epoch), and the file's identity (inode). */
  stat(path: string): { size: number; mtimeMs: number; ino: number };
  truncate(fd: number, length: number): void;
  /** fdatasync: the file's data and size are durable when it returns; throws what it failed with. */
  syncFile(fd: number): void;
  /** fdatasync on libuv's thread pool. */
  syncFileAsync(fd: number, done: (error: Error | null) => void): void;
  /** A thread of its own for fdatasyncs, polled by a caller that never yields to its event loop. */
  backgroundSync(): BackgroundSync;
  /** fsync of a directory: the entries created, renamed or removed in it are durable. */
  syncDirectory(dir: string): void;
  /** Makes `to` a second name of `from`; EEXIST when `to` exists (an atomic create-if-absent). */
  link(from: string, to: string): void;
  rename(from: string, to: string): void;
  unlink(path: string): void;
  /** Creates one directory (its parent must exist); EEXIST when it does. */
  mkdir(path: string): void;
  rmdir(path: string): void;
  /** The names in a directory. */
  list(dir: string): string[];
}

export const nodeFiles: LogFiles = {
  open: (path, mode) => openSync(path, mode),
  close: (fd) => closeSync(fd),
  writev: (fd, parts, position) => writevSync(fd, parts as Uint8Array[], position),
  write: (fd, data) => (typeof data === 'string' ? writeSync(fd, data) : writeSync(fd, data)),
  read: (fd, into, offset, length, position) => readSync(fd, into, offset, length, position),
  readFile: (path) => readFileSync(path),
  stat: (path) => {
    const s = statSync(path);
    return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
  },
  truncate: (fd, length) => ftruncateSync(fd, length),
  syncFile: (fd) => fdatasyncSync(fd),
  syncFileAsync: (fd, done) => fdatasync(fd, (error) => done(error)),
  backgroundSync: () => new SyncThread(),
  syncDirectory: (dir) => {
    const fd = openSync(dir, 'r');
    try {
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
  link: (from, to) => linkSync(from, to),
  rename: (from, to) => renameSync(from, to),
  unlink: (path) => unlinkSync(path),
  mkdir: (path) => mkdirSync(path),
  rmdir: (path) => rmdirSync(path),
  list: (dir) => readdirSync(dir),
};

/**
 * Creates `dir` and whichever of its parents are missing, each made durable in its parent: a
 * directory whose creation a power cut forgets takes every file in it along.
 */
export function makeDurableDirectory(files: LogFiles, dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !exists(files, d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      files.mkdir(d);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    files.syncDirectory(dirname(d));
  }
  // Made before, maybe by a process that died before its sync: its name is synced now.
  if (missing.length === 0) files.syncDirectory(dirname(resolve(dir)));
}

/** Whether `path` names anything, through `files`. */
export function exists(files: LogFiles, path: string): boolean {
  try {
    files.stat(path);
    return true;
  } catch {
    return false;
  }
}
