/**
 * The log's key: four random bytes in `DIR/KEY`, made with the log, that seed every record's
 * CRC (record.ts). Recovery tells damage in the middle of a segment from a torn tail by looking
 * for a valid record after the damage; record bodies hold what clients sent, 8-aligned, so a
 * publisher could place a whole, CRC-correct record inside a payload, and a crash that tore that
 * batch would make recovery refuse the log. With the key in the CRC, bytes a client made cannot
 * pass for a record: the key never leaves the directory.
 *
 *   DIR/KEY    u32 little-endian, written and synced (with the directory) before the first segment
 *
 * A log made before keys has none: key 0, which is the plain CRC32 it was written with.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { LogFiles } from './files.js';

/** The key's file name in a log directory. */
export const KEY_FILE = 'KEY';

/** The key of the log in `dir`: 0 for a log without one. */
export function readLogKey(dir: string, files: LogFiles): number {
  let bytes: Uint8Array;
  try {
    bytes = files.readFile(join(dir, KEY_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  if (bytes.length !== 4) throw new Error(`${join(dir, KEY_FILE)}: not a log key (${bytes.length} bytes, not 4); nothing was changed`);
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
}

/** Makes a new log's key, durable (file and name) before anything is written with it. */
export function createLogKey(dir: string, files: LogFiles): number {
  const bytes = randomBytes(4);
  // Never 0: that is "no key".
  if (bytes.readUInt32LE(0) === 0) bytes[0] = 1;
  const fd = files.open(join(dir, KEY_FILE), 'w');
  try {
    files.write(fd, bytes);
    files.syncFile(fd);
  } finally {
    files.close(fd);
  }
  files.syncDirectory(dir);
  return bytes.readUInt32LE(0);
}
