// How a session's connection ends, for every protocol. A session that has said goodbye (BYE, QUIT,
// idle timeout, a fatal error) is gone at once (invariant 10): it reads nothing more — bytes a
// client keeps sending would otherwise be parsed into a queue nobody drains (POP3: 6 MB of lines
// after QUIT cost +320 MB) — and its socket is destroyed as soon as the goodbye is flushed, instead
// of being half-closed and left for the client to close (sockets lingered in FIN-WAIT-2 for as long
// as a client liked).
import type { Socket } from 'node:net';

/** A client that does not take the goodbye within this long loses it. */
const LINGER_MS = 5_000;

export function hangUp(socket: Socket): void {
  if (socket.destroyed) return;
  socket.removeAllListeners('data');
  socket.pause();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.end(() => {
    clearTimeout(timer);
    socket.destroy();
  });
}
