// How a POP3 or IMAP session listens to its socket: the same wiring for both, so that what invariant
// 10 asks of a closed session (gone at once, slots released only when the socket really closed) is
// written once.
import type { Socket } from 'node:net';

export interface SessionSocketEvents {
  /** The socket failed or closed: the session ends (it may already have). */
  readonly gone: () => void;
  /** The socket has really closed: give back the session's slots (not when the goodbye is said). */
  readonly releaseSlots: () => void;
  /** The output buffer emptied: reading may resume. */
  readonly drained: () => void;
  /** No input for the idle timeout: say goodbye in the protocol's words and end. */
  readonly idle: () => void;
  readonly data: (d: Buffer) => void;
}

export function listenToSession(s: Socket, idleTimeoutMs: number, on: SessionSocketEvents): void {
  s.on('error', on.gone);
  s.on('close', () => {
    on.gone();
    on.releaseSlots();
  });
  s.on('drain', on.drained);
  s.setTimeout(idleTimeoutMs, on.idle);
  s.on('data', on.data);
}
