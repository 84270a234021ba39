/**
 * A file system in memory that remembers what is durable, for testing the log against power
 * loss and failing disks (the role LazyFS plays for Jepsen, under the log's LogFiles seam).
 *
 *   current view                       durable view (what the disk holds)
 *   path → inode (data, size)          path → inode, per directory as of its last syncDirectory
 *   inode.data: every write            inode.durable: the data as of its last successful syncFile
 *
 * - A write changes only the current view. `syncFile` copies an inode's data to its durable
 *   copy; `syncDirectory(dir)` makes the names in `dir` (created, renamed, removed) durable.
 * - `powerCut()` returns the file system a machine would boot with: only durable names, each
 *   with its durable data, plus, where `torn` says so, a prefix of the bytes written after the
 *   last sync (a disk may have written some of them: a torn tail).
 * - `faults` fails a chosen call with EIO or ENOSPC. A failed syncFile behaves as Linux's did in
 *   "fsyncgate": the dirty data it should have written is dropped for good (a later syncFile
 *   succeeds without it), while reads still see it until the power goes.
 */
import { dirname, resolve } from 'node:path';
import type { LogFiles, OpenMode } from '../../wal/files.js';
import type { BackgroundSync } from '../../wal/sync-thread.js';

export type FileOperation = 'open' | 'write' | 'syncFile' | 'syncDirectory' | 'rename' | 'link' | 'unlink' | 'mkdir' | 'rmdir' | 'truncate';

interface Inode {
  readonly ino: number;
  readonly kind: 'file' | 'dir';
  data: Uint8Array;
  size: number;
  /** What the disk holds of this file. */
  durable: Uint8Array;
  mtimeMs: number;
  /** Bytes [from, to) a failed sync dropped: never made durable by a later sync. */
  dropped: { from: number; to: number }[];
}

/** What `snapshot` hands over: durable names (hard links share an inode number) and data. */
export interface DiskSnapshot {
  nextIno: number;
  clock: number;
  entries: { path: string; kind: 'file' | 'dir'; ino: number; data: string }[];
}

interface OpenFile {
  inode: Inode;
  position: number;
  writable: boolean;
}

function errno(code: string, call: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${call} '${path}'`), { code, syscall: call, path });
}

export class PowerCutFiles implements LogFiles {
  private current = new Map<string, Inode>();
  private durable = new Map<string, Inode>();
  private readonly fds = new Map<number, OpenFile>();
  private nextFd = 100;
  private nextIno = 1;
  private clock = 1_700_000_000_000;
  /** Return an errno code ('EIO', 'ENOSPC') to fail this call, or undefined to let it run. */
  faults: (operation: FileOperation, path: string) => string | undefined = () => undefined;
  /** Counts of calls, by operation. */
  readonly calls = new Map<FileOperation, number>();

  constructor() {
    const root = this.inode('dir');
    this.current.set('/', root);
    this.durable.set('/', root);
  }

  /**
   * The machine after a power cut: durable names and data only. `torn(path, unsynced)` says how
   * many of a file's `unsynced` bytes past its durable size reached the disk anyway (default 0).
   */
  powerCut(torn: (path: string, unsynced: number) => number = () => 0): PowerCutFiles {
    const next = new PowerCutFiles();
    next.nextIno = this.nextIno;
    next.clock = this.clock;
    const copies = new Map<Inode, Inode>();
    for (const [path, inode] of this.durable) {
      // A name survives only with every directory above it: a directory whose own name was never
      // synced in its parent is gone, and takes what is in it along.
      if (!this.durablyReachable(path)) continue;
      let copy = copies.get(inode);
      if (copy === undefined) {
        copy = { ...inode, dropped: [], data: new Uint8Array(0), size: 0, durable: new Uint8Array(0) };
        if (inode.kind === 'file') {
          const unsynced = Math.max(0, inode.size - inode.durable.length);
          const extra = unsynced > 0 ? Math.min(unsynced, Math.max(0, torn(path, unsynced))) : 0;
          const data = new Uint8Array(inode.durable.length + extra);
          data.set(inode.durable);
          // Only bytes no failed sync dropped can have reached the disk.
          if (extra > 0) data.set(this.persistable(inode).subarray(inode.durable.length, inode.durable.length + extra), inode.durable.length);
          copy.data = data;
          copy.size = data.length;
          copy.durable = data.slice();
        }
        copies.set(inode, copy);
      }
      next.current.set(path, copy);
      next.durable.set(path, copy);
    }
    return next;
  }

  /**
   * The disk a power cut would leave, as plain data, so a broker in another process (one that
   * may exit 70 mid-test) can hand its disk to the next: `fromSnapshot` boots from it.
   */
  snapshot(): DiskSnapshot {
    const booted = this.powerCut();
    const entries: DiskSnapshot['entries'] = [];
    for (const [path, inode] of booted.durable)
      if (path !== '/') entries.push({ path, kind: inode.kind, ino: inode.ino, data: Buffer.from(inode.durable).toString('base64') });
    return { nextIno: booted.nextIno, clock: booted.clock, entries };
  }

  static fromSnapshot(snapshot: DiskSnapshot): PowerCutFiles {
    const files = new PowerCutFiles();
    files.nextIno = snapshot.nextIno;
    files.clock = snapshot.clock;
    const byIno = new Map<number, Inode>();
    for (const e of snapshot.entries) {
      let inode = byIno.get(e.ino);
      if (inode === undefined) {
        const data = new Uint8Array(Buffer.from(e.data, 'base64'));
        inode = { ino: e.ino, kind: e.kind, data, size: data.length, durable: data.slice(), mtimeMs: files.tick(), dropped: [] };
        byIno.set(e.ino, inode);
      }
      files.current.set(e.path, inode);
      files.durable.set(e.path, inode);
    }
    return files;
  }

  /** Whether `path` exists in the current view. */
  exists(path: string): boolean {
    return this.current.has(resolve(path));
  }

  // ── LogFiles ────────────────────────────────────────────────────────────────────────────────

  open(path: string, mode: OpenMode): number {
    const p = this.check('open', path);
    let inode = this.current.get(p);
    if (inode?.kind === 'dir' && mode !== 'r') throw errno('EISDIR', 'open', p);
    if (mode === 'wx' && inode !== undefined) throw errno('EEXIST', 'open', p);
    if ((mode === 'r' || mode === 'r+') && inode === undefined) throw errno('ENOENT', 'open', p);
    if (inode === undefined) {
      this.parentDir(p, 'open');
      inode = this.inode('file');
      this.current.set(p, inode);
    } else if (mode === 'w' || mode === 'w+') {
      inode.size = 0;
      inode.mtimeMs = this.tick();
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { inode, position: 0, writable: mode !== 'r' });
    return fd;
  }

  close(fd: number): void {
    if (!this.fds.delete(fd)) throw errno('EBADF', 'close', String(fd));
  }

  writev(fd: number, parts: readonly Uint8Array[], position: number): number {
    const f = this.file(fd, 'write');
    let at = position;
    for (const part of parts) {
      this.writeAt(f.inode, part, at);
      at += part.length;
    }
    return at - position;
  }

  write(fd: number, data: string | Uint8Array): number {
    const f = this.file(fd, 'write');
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.writeAt(f.inode, bytes, f.position);
    f.position += bytes.length;
    return bytes.length;
  }

  read(fd: number, into: Uint8Array, offset: number, length: number, position: number): number {
    const f = this.fds.get(fd);
    if (f === undefined) throw errno('EBADF', 'read', String(fd));
    const n = Math.max(0, Math.min(length, f.inode.size - position));
    into.set(f.inode.data.subarray(position, position + n), offset);
    return n;
  }

  readFile(path: string): Uint8Array {
    const inode = this.current.get(resolve(path));
    if (inode === undefined) throw errno('ENOENT', 'open', path);
    if (inode.kind === 'dir') throw errno('EISDIR', 'read', path);
    return inode.data.slice(0, inode.size);
  }

  stat(path: string): { size: number; mtimeMs: number; ino: number } {
    const inode = this.current.get(resolve(path));
    if (inode === undefined) throw errno('ENOENT', 'stat', path);
    return { size: inode.size, mtimeMs: inode.mtimeMs, ino: inode.ino };
  }

  truncate(fd: number, length: number): void {
    const f = this.file(fd, 'truncate');
    if (length < f.inode.size) f.inode.data.fill(0, length, f.inode.size);
    f.inode.size = length;
  }

  /** `upTo`: make durable only the file's first `upTo` bytes (what a sync thread's call covers). */
  syncFile(fd: number, upTo = Number.POSITIVE_INFINITY): void {
    const f = this.fds.get(fd);
    if (f === undefined) throw errno('EBADF', 'fdatasync', String(fd));
    const code = this.fault('syncFile', `fd ${fd}`);
    const inode = f.inode;
    if (code !== undefined) {
      // fsyncgate: the pages it could not write are marked clean and dropped from the disk's future.
      if (inode.size > inode.durable.length) inode.dropped.push({ from: inode.durable.length, to: inode.size });
      throw errno(code, 'fdatasync', `fd ${fd}`);
    }
    const size = Math.max(Math.min(upTo, inode.size), Math.min(inode.durable.length, inode.size));
    inode.durable = this.persistable(inode).slice(0, size);
  }

  /**
   * As on libuv's pool: the fdatasync runs a turn later, and its callback a turn after that, so
   * appends (and the log's own syncs) can come between the call, the sync and the callback.
   */
  syncFileAsync(fd: number, done: (error: Error | null) => void): void {
    setImmediate(() => {
      let outcome: Error | null = null;
      try {
        this.syncFile(fd);
      } catch (error) {
        outcome = error as Error;
      }
      setImmediate(() => done(outcome));
    });
  }

  /**
   * As a sync thread would: the fdatasync runs at the second `poll` after `start` (appends come
   * between the two), or at `wait`, and makes durable only what the file held at `start` (all a
   * real one is sure to cover); a cut before then finds it not done.
   */
  backgroundSync(): BackgroundSync {
    let fd = -1;
    let sizeAtStart = 0;
    let polls = 0;
    let running = false;
    const run = (): Error | null => {
      running = false;
      try {
        this.syncFile(fd, sizeAtStart);
        return null;
      } catch (error) {
        return error as Error;
      }
    };
    return {
      get running() {
        return running;
      },
      lastSyncNs: 0,
      start: (f) => {
        if (running) throw new Error('a background fdatasync is still running');
        fd = f;
        sizeAtStart = this.fds.get(f)?.inode.size ?? 0;
        polls = 0;
        running = true;
      },
      poll: () => (!running ? null : ++polls < 2 ? undefined : run()),
      wait: () => (running ? run() : null),
      close: () => {},
    };
  }

  syncDirectory(dir: string): void {
    const d = this.check('syncDirectory', dir);
    if (this.current.get(d)?.kind !== 'dir') throw errno('ENOENT', 'open', d);
    for (const path of [...this.durable.keys()]) if (path !== '/' && dirname(path) === d && !this.current.has(path)) this.durable.delete(path);
    for (const [path, inode] of this.current) if (path !== '/' && dirname(path) === d) this.durable.set(path, inode);
  }

  link(from: string, to: string): void {
    const [f, t] = [resolve(from), this.check('link', to)];
    const inode = this.current.get(f);
    if (inode === undefined) throw errno('ENOENT', 'link', f);
    if (this.current.has(t)) throw errno('EEXIST', 'link', t);
    this.parentDir(t, 'link');
    this.current.set(t, inode);
  }

  rename(from: string, to: string): void {
    const [f, t] = [resolve(from), this.check('rename', to)];
    const inode = this.current.get(f);
    if (inode === undefined) throw errno('ENOENT', 'rename', f);
    this.parentDir(t, 'rename');
    this.current.delete(f);
    this.current.set(t, inode);
  }

  unlink(path: string): void {
    const p = this.check('unlink', path);
    const inode = this.current.get(p);
    if (inode === undefined) throw errno('ENOENT', 'unlink', p);
    if (inode.kind === 'dir') throw errno('EISDIR', 'unlink', p);
    this.current.delete(p);
  }

  mkdir(path: string): void {
    const p = this.check('mkdir', path);
    if (this.current.has(p)) throw errno('EEXIST', 'mkdir', p);
    this.parentDir(p, 'mkdir');
    this.current.set(p, this.inode('dir'));
  }

  rmdir(path: string): void {
    const p = this.check('rmdir', path);
    if (this.current.get(p)?.kind !== 'dir') throw errno('ENOENT', 'rmdir', p);
    if (this.list(p).length > 0) throw errno('ENOTEMPTY', 'rmdir', p);
    this.current.delete(p);
  }

  list(dir: string): string[] {
    const d = resolve(dir);
    if (this.current.get(d)?.kind !== 'dir') throw errno('ENOENT', 'scandir', d);
    const names: string[] = [];
    for (const path of this.current.keys()) if (path !== '/' && dirname(path) === d) names.push(path.slice(d === '/' ? 1 : d.length + 1));
    return names.sort();
  }

  // ── inside ──────────────────────────────────────────────────────────────────────────────────

  private durablyReachable(path: string): boolean {
    for (let d = dirname(path); d !== '/'; d = dirname(d)) if (this.durable.get(d)?.kind !== 'dir') return false;
    return true;
  }

  private inode(kind: 'file' | 'dir'): Inode {
    return { ino: this.nextIno++, kind, data: new Uint8Array(0), size: 0, durable: new Uint8Array(0), mtimeMs: this.tick(), dropped: [] };
  }

  private tick(): number {
    this.clock += 1;
    return this.clock;
  }

  /** Counts the call, runs the fault hook, and resolves the path. */
  private check(operation: FileOperation, path: string): string {
    const p = resolve(path);
    const code = this.fault(operation, p);
    if (code !== undefined) throw errno(code, operation, p);
    return p;
  }

  private fault(operation: FileOperation, path: string): string | undefined {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    return this.faults(operation, path);
  }

  private parentDir(path: string, call: string): void {
    if (this.current.get(dirname(path))?.kind !== 'dir') throw errno('ENOENT', call, path);
  }

  private file(fd: number, operation: FileOperation): OpenFile {
    const f = this.fds.get(fd);
    if (f === undefined) throw errno('EBADF', operation, String(fd));
    if (!f.writable) throw errno('EBADF', operation, String(fd));
    const code = this.fault(operation, `fd ${fd}`);
    if (code !== undefined) throw errno(code, operation, `fd ${fd}`);
    return f;
  }

  private writeAt(inode: Inode, bytes: Uint8Array, at: number): void {
    const end = at + bytes.length;
    if (end > inode.data.length) {
      const grown = new Uint8Array(Math.max(end, inode.data.length * 2, 4096));
      grown.set(inode.data.subarray(0, inode.size));
      inode.data = grown;
    }
    inode.data.set(bytes, at);
    inode.size = Math.max(inode.size, end);
    inode.mtimeMs = this.tick();
  }

  /** The data as a sync would write it: zeros where a failed sync dropped the pages. */
  private persistable(inode: Inode): Uint8Array {
    if (inode.dropped.length === 0) return inode.data;
    const copy = inode.data.slice(0, Math.max(inode.size, inode.data.length));
    for (const { from, to } of inode.dropped) copy.fill(0, from, to);
    return copy;
  }
}
