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
  if (named) return named;
  const folders = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_FOLDERS];
  for (const folder of folders) {
    const candidate = join(folder, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
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
