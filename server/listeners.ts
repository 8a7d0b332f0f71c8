// TCP listeners for the session protocols, with the bookkeeping a clean shutdown needs: the set of
// open sockets, so SIGTERM can stop accepting, let sessions finish, then close the stragglers.
//
// The accept path is also the governor's second shedding tier (server/governor/accept-gate.ts):
// each refused connection's cost is reported, and while refusals exceed their budget the listening
// socket is closed — new connections get an immediate "connection refused" from the kernel — and
// opened again on the same port as soon as the governor says so. Open sessions are not touched.
//
// Connections also wait where the governor cannot see them: in the kernel's accept queue, before
// Node accepts them. A server that cannot keep up accepts late, and every later clock (accept →
// logged in) starts too late to show it. So while the governor asks, each listener connects to
// itself every PROBE_MS from an address no client uses and reports how long the kernel held that
// connection before it was accepted: the accept queue's waiting, measured as a client lives it.
import net from 'node:net';
import { performance } from 'node:perf_hooks';

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
  /** Whether the accept queue's waiting matters now (probing costs a connection every PROBE_MS). */
  probeAccepts(): boolean;
  /** What a probe of this port's accept queue saw (reported when accepted, and while it still waits). */
  observeAcceptWait(port: number, wait: AcceptWait): void;
}

export interface AcceptWait {
  /** How long the probe waited in the kernel before it was accepted, or has waited so far, ms. */
  ms: number;
  accepted: boolean;
  /**
   * Connections accepted after the probe was sent and before it (so far): the queue is first in,
   * first out, so this is how many waited there when the probe came — counted, not estimated.
   */
  ahead: number;
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
/** How often the accept queue is probed while the governor asks, ms. */
export const PROBE_MS = 50;
/**
 * Where probes come from: a loopback address no client has (all of 127/8 is loopback on Linux), so
 * the accept handler knows its own probe without reading a byte from it.
 */
export const PROBE_FROM = '127.84.69.71';

/** The address a probe connects to, or undefined where there is no spare loopback address (IPv6). */
function probeTarget(host: string): string | undefined {
  if (net.isIPv6(host)) return undefined;
  return host === '0.0.0.0' ? '127.0.0.1' : host;
}

/** `onSocket` returns false when it refused the connection. */
export async function listen(
  host: string, port: number, onSocket: (socket: net.Socket) => boolean, control?: AcceptControl,
): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  let probe: { socket: net.Socket; sent: number; acceptedBefore: number } | undefined;
  let accepted = 0;
  const probeSaw = (p: NonNullable<typeof probe>, done: boolean): AcceptWait =>
    ({ ms: performance.now() - p.sent, accepted: done, ahead: accepted - p.acceptedBefore });
  const accept = (socket: net.Socket) => {
    if (probe && socket.remoteAddress === PROBE_FROM) {
      control!.observeAcceptWait(bound, probeSaw(probe, true));
      socket.destroy();
      probe.socket.destroy();
      probe = undefined;
      return;
    }
    accepted++;
    const t0 = control ? performance.now() : 0;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (!onSocket(socket)) control?.chargeRefusal(performance.now() - t0);
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
  const target = probeTarget(host);
  // A system without the probe's address (not Linux) or that forbids it: no probes, other signals stay.
  let probeUnsupported = target === undefined;
  const probeTimer = control && setInterval(() => {
    if (!server || probeUnsupported) return;
    if (probe) return control.observeAcceptWait(bound, probeSaw(probe, false));
    if (!control.probeAccepts()) return;
    const socket = net.connect({ port: bound, host: target, localAddress: PROBE_FROM });
    const mine = { socket, sent: performance.now(), acceptedBefore: accepted };
    probe = mine;
    const done = () => {
      if (probe === mine) probe = undefined;
    };
    socket.on('close', done);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // refused or reset: the listener closed meanwhile (the accept gate), nothing to learn
      if (err.code === 'EADDRNOTAVAIL' || err.code === 'EINVAL' || err.code === 'EACCES') probeUnsupported = true;
      done();
    });
  }, PROBE_MS);
  probeTimer?.unref();
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
      clearInterval(probeTimer);
      probe?.socket.destroy();
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
