// IMAP4rev1 server sessions over any socket.
import type { Socket } from 'node:net';
import type { SessionContext } from '../session-context.ts';
import { ImapSession } from './session.ts';

export function handleImapConnection(socket: Socket, ctx: SessionContext): void {
  new ImapSession(socket, ctx).start();
}
