// Waiting for a socket's output buffer to empty, for every protocol's writers: an answer larger
// than the buffer is written piece by piece, each after the last has left (invariant 10: a client
// that does not read holds its own answer, not the server's memory).
import type { Socket } from 'node:net';

/** Resolves when the socket has room again, or is closed (a writer then sees the close itself). */
export function socketDrained(socket: Socket): Promise<void> {
  if (socket.destroyed || !socket.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
