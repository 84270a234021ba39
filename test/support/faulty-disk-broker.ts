/**
 * A broker on the simulated disk (power-cut-files.ts), in a process of its own, for the tests
 * that make its log fail: a failed write or fdatasync makes the broker exit 70, which a test
 * worker could not survive in process. When this process ends, for whatever reason, the disk
 * is saved as a power cut would leave it, so the next broker boots from exactly that.
 *
 *   jiti faulty-disk-broker.ts POLICY STATE_IN|- STATE_OUT [OPERATION PATH_SUFFIX NTH CODE]
 *
 * OPERATION on a path ending in PATH_SUFFIX fails with CODE (EIO, ENOSPC) the NTH time it is
 * called (file descriptors are traced back to the path they were opened with; a syncDirectory
 * counts only when it follows a segment's creation).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { LogStorage } from '../../broker/log-storage.js';
import { Broker } from '../../broker/server.js';
import type { DurabilityPolicy } from '../../wal/log.js';
import { type FileOperation, PowerCutFiles } from './power-cut-files.js';

const [policy, stateIn, stateOut, operation, suffix, nth, code] = process.argv.slice(2);
const files = stateIn === '-' ? new PowerCutFiles() : PowerCutFiles.fromSnapshot(JSON.parse(readFileSync(stateIn, 'utf8')));
const pathOf = new Map<number, string>();
const open = files.open.bind(files);
files.open = (path, mode) => {
  const fd = open(path, mode);
  pathOf.set(fd, path);
  return fd;
};
let seen = 0;
let afterSegmentOpen = false;
if (operation !== undefined) {
  files.faults = (op: FileOperation, path: string) => {
    const real = path.startsWith('fd ') ? (pathOf.get(Number(path.slice(3))) ?? path) : path;
    // A directory sync counts only right after a segment was created (a roll): groups.json's
    // rename syncs the same directory, and its failures are STORAGE errors, not a stop.
    const roll = op === 'syncDirectory' && afterSegmentOpen;
    afterSegmentOpen = op === 'open' && real.endsWith('.log');
    if (op !== operation || !real.endsWith(suffix) || (op === 'syncDirectory' && !roll)) return undefined;
    seen++;
    return seen === Number(nth) ? code : undefined;
  };
}
process.on('exit', () => writeFileSync(stateOut, JSON.stringify(files.snapshot())));
process.on('SIGTERM', () => process.exit(0));
const storage = new LogStorage('/broker-data', { durability: policy as DurabilityPolicy, files, segmentBytes: 64 * 1024, retentionBytes: 256 * 1024 });
const broker = await Broker.start({ storage });
process.stdout.write(`listening ${broker.url}\n`);
