// IMAP4rev1 server sessions over any socket.
import type { Socket } from 'node:net';
import type { SessionContext } from '../session-context.ts';
import { ImapSession } from './session.ts';

/** False when the governor refused the connection (the listener charges refusals to its budget). */
export function handleImapConnection(socket: Socket, ctx: SessionContext): boolean {
  return new ImapSession(socket, ctx).start();
}
