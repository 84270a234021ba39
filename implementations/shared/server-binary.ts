/**
 * Finds a server's executable: the environment variable that names it, else the PATH, else the
 * sbin folders Debian installs daemons into (nats-server lands in /usr/sbin, which is not on an
 * ordinary user's PATH).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const EXTRA_FOLDERS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

export function findServerBinary(name: string, envVariable: string): string | undefined {
  const named = process.env[envVariable];
  // A variable that names something not runnable means "not installed", not "look elsewhere".
  if (named) return executable(named) ? named : undefined;
  const folders = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_FOLDERS];
  return folders.map((folder) => join(folder, name)).find(executable);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first line `binary --version` prints, or undefined when it cannot be run. */
export function serverVersion(binary: string): string | undefined {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]
      ?.trim();
  } catch {
    return undefined;
  }
}
