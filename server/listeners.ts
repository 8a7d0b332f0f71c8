// TCP listeners for the session protocols, with the bookkeeping a clean shutdown needs: the set of
// open sockets, so SIGTERM can stop accepting, let sessions finish, then close the stragglers.
//
// The accept path is also the governor's second shedding tier (server/governor/accept-gate.ts):
// each refused connection's cost is reported, and while refusals exceed their budget the listening
// socket is closed — new connections get an immediate "connection refused" from the kernel — and
// opened again on the same port as soon as the governor says so. Open sessions are not touched.
import net from 'node:net';
import { processCpuMs } from './governor/accept-gate.ts';

export interface Listener {
  readonly port: number;
  readonly host: string;
  /** Stops accepting, waits up to `graceMs` for open sessions to end, then destroys the rest. */
  close(graceMs: number): Promise<void>;
}

/** What the listener needs from the governor: when to accept, and where to report refusals' cost. */
export interface AcceptControl {
  /** `fn(false)` when accepting should stop, `fn(true)` when it may go on; returns an unsubscribe. */
  onAcceptChange(fn: (open: boolean) => void): () => void;
  chargeRefusal(ms: number): void;
}

/**
 * Connections the kernel holds for us while the event loop is busy. Node's default (511) overflows
 * in a 150 ms stall at 3,500 connections/s, and an overflow drops the SYN silently: the client
 * retries after 1, 3, 7 s and times out. Held here, each one reaches the governor instead, and a
 * client that must wait is told "try again later" (capped by net.core.somaxconn).
 */
export const LISTEN_BACKLOG = 4096;
/** After a failed re-listen (the port taken meanwhile), try again this soon, ms. */
const RELISTEN_RETRY_MS = 50;

/** `onSocket` returns false when it refused the connection. */
export async function listen(
  host: string, port: number, onSocket: (socket: net.Socket) => boolean, control?: AcceptControl,
): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const accept = (socket: net.Socket) => {
    const t0 = control ? processCpuMs() : 0;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (!onSocket(socket)) control?.chargeRefusal(processCpuMs() - t0);
  };
  const bind = (p: number) =>
    new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer({ noDelay: true }, accept);
      server.once('error', reject);
      server.listen({ port: p, host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  let server: net.Server | undefined = await bind(port);
  const bound = (server.address() as net.AddressInfo).port;
  let wantOpen = true;
  let closing = false;
  const reopen = () => {
    if (closing || !wantOpen || server) return;
    bind(bound).then(
      (s) => {
        if (closing || !wantOpen) s.close();
        else server = s;
      },
      () => setTimeout(reopen, RELISTEN_RETRY_MS).unref(),
    );
  };
  const unsubscribe = control?.onAcceptChange((open) => {
    wantOpen = open;
    if (open) return reopen();
    // Closes the listening socket now; the sessions it accepted are not its to close.
    server?.close();
    server = undefined;
  });
  return {
    port: bound,
    host,
    async close(graceMs: number) {
      closing = true;
      unsubscribe?.();
      const s = server;
      server = undefined;
      const closed = s ? new Promise<void>((r) => s.close(() => r())) : Promise.resolve();
      const deadline = Date.now() + graceMs;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const x of sockets) x.destroy();
      await closed;
    },
  };
}
