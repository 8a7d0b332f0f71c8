// TCP listeners for the session protocols, with the bookkeeping a clean shutdown needs: the set of
// open sockets, so SIGTERM can stop accepting, let sessions finish, then close the stragglers.
import net from 'node:net';

export interface Listener {
  readonly port: number;
  readonly host: string;
  /** Stops accepting, waits up to `graceMs` for open sessions to end, then destroys the rest. */
  close(graceMs: number): Promise<void>;
}

/**
 * Connections the kernel holds for us while the event loop is busy. Node's default (511) overflows
 * in a 150 ms stall at 3,500 connections/s, and an overflow drops the SYN silently: the client
 * retries after 1, 3, 7 s and times out. Held here, each one reaches the governor instead, and a
 * client that must wait is told "try again later" (capped by net.core.somaxconn).
 */
export const LISTEN_BACKLOG = 4096;

export async function listen(host: string, port: number, onSocket: (socket: net.Socket) => void): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as net.AddressInfo).port;
  return {
    port: bound,
    host,
    async close(graceMs: number) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      const deadline = Date.now() + graceMs;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
