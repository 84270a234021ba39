/** One end of the network floor probe (network-floor.ts): the ponger echoes; the pinger times round trips. */
import { connect } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

const { role, port, roundTrips, messageBytes } = workerData as { role: 'pinger' | 'ponger'; port: number; roundTrips: number; messageBytes: number };
const socket = connect({ host: '127.0.0.1', port, noDelay: true });
await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
if (role === 'ponger') {
  socket.on('data', (data) => socket.write(data));
  parentPort!.postMessage('ready');
} else {
  const message = Buffer.alloc(messageBytes);
  const rtt = new Float64Array(roundTrips);
  const warmup = Math.min(2000, roundTrips);
  for (let i = -warmup; i < roundTrips; i++) {
    const sent = process.hrtime.bigint();
    let got = 0;
    // A message may arrive in pieces: the round trip ends when all of it is back.
    await new Promise<void>((resolve) => {
      const onData = (data: Buffer) => {
        got += data.length;
        if (got >= messageBytes) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
      socket.write(message);
    });
    if (i >= 0) rtt[i] = Number(process.hrtime.bigint() - sent);
  }
  parentPort!.postMessage(rtt);
  socket.destroy();
}
