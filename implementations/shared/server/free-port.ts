/**
 * A loopback port nothing listens on right now: bound with port 0, then released. For servers
 * that cannot pick their own (redis-server: port 0 turns TCP off) or whose port others must
 * know before it starts (a cluster's routes). Another program may take it in between; callers
 * retry a start that fails with "address in use".
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
