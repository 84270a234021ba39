/**
 * Output folders are checked before any machine time is spent: a run that can only discover at
 * the end that it cannot write its result has thrown the run away. Each check names the flag.
 */
import { closeSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BadInput } from './exit.js';

/**
 * Kernel file systems are never output folders: writes there do not store files, and Node 20's
 * recursive mkdir can hang forever under /proc.
 */
const KERNEL_FOLDERS = ['/proc', '/sys', '/dev'];

export function refuseKernelPath(path: string, flag: string): string {
  const absolute = resolve(path);
  if (KERNEL_FOLDERS.some((k) => absolute === k || absolute.startsWith(`${k}/`))) {
    throw new BadInput(
      `${flag} ${path}: is under ${absolute.split('/')[1] ? `/${absolute.split('/')[1]}` : absolute}, a kernel file system, not a folder for output`,
    );
  }
  return absolute;
}

/** Creates `dir` if needed and proves a file can be created in it (with `probeName`, if given). */
export function prepareOutputFolder(dir: string, flag: string, probeName = '.nanomq-write-probe'): void {
  const absolute = refuseKernelPath(dir, flag);
  try {
    mkdirSync(absolute, { recursive: true });
  } catch (error) {
    throw new BadInput(`${flag} ${dir}: cannot create this folder (${code(error)})`);
  }
  if (!statSync(absolute).isDirectory()) throw new BadInput(`${flag} ${dir}: is not a folder`);
  const probe = resolve(absolute, `${probeName}.${process.pid}.probe`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (error) {
    // Nothing was created, so nothing is removed (a file of that name is not this tool's).
    throw new BadInput(`${flag} ${dir}: cannot write a file here (${code(error)})`);
  }
  rmSync(probe, { force: true });
}

function code(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ?? e.message;
}
