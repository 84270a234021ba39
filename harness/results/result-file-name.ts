/**
 * Result file names: `<scenario>-<UTC time>.json`, made unique so that two runs in the same
 * second (or two scenarios of one name in one call) never overwrite each other, and written so
 * that an existing file is never replaced: the new file is linked into place, which fails
 * instead of overwriting when the name is taken, and the next free name is used.
 */
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function resultFileName(name: string, at = new Date(), suffix = 0): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${name}-${stamp}${suffix > 0 ? `-${suffix + 1}` : ''}.json`;
}

/** A name in `dir` that no file has, and that this process has not handed out before. */
export function freeResultPath(dir: string, name: string, taken: Set<string>, at = new Date()): string {
  for (let suffix = 0; ; suffix++) {
    const path = join(dir, resultFileName(name, at, suffix));
    if (!taken.has(path) && !existsSync(path)) {
      taken.add(path);
      return path;
    }
  }
}

/**
 * Writes `contents` to `path`, or to the next free name beside it when `path` exists by then
 * (another process won the race). Readers never see half a file. Returns the path written.
 */
export function writeNewResultFile(path: string, contents: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  // 'wx': a file already there under this name is not ours, and is neither replaced nor removed.
  writeFileSync(temporary, contents, { flag: 'wx' });
  try {
    for (let suffix = 1; ; suffix++) {
      const target = suffix === 1 ? path : path.replace(/\.json$/, `-n${suffix}.json`);
      try {
        linkSync(temporary, target);
        return target;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * Replaces a result file this process wrote itself (by rename, so a reader sees the old file or
 * the new one whole): `run --confirm-against` writes its suite's result before the follow-up
 * trials, so an interrupt or a crash during them keeps the suite, then writes it again with them.
 */
export function replaceOwnResultFile(path: string, contents: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents, { flag: 'wx' });
  renameSync(temporary, path);
}
