/** The network floor's relay (network-floor.ts): forwards every byte from one of its two connections to the other, unread. */
import { createServer, type Socket } from 'node:net';

const sockets: Socket[] = [];
const server = createServer({ noDelay: true }, (socket) => {
  sockets.push(socket);
  socket.on('error', () => {});
  socket.on('data', (data) => (sockets[0] === socket ? sockets[1] : sockets[0])?.write(data));
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address !== 'string') process.send?.(address.port);
});
// The harness kills it when done; it also ends with its parent.
process.on('disconnect', () => process.exit(0));
