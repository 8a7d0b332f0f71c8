// POP3 server sessions over any socket; see session.ts for the concurrency model.
import type { Socket } from 'node:net';
import type { SessionContext } from '../session-context.ts';
import { Pop3Session } from './session.ts';

/** False when the governor refused the connection (the listener charges refusals to its budget). */
export function handlePop3Connection(socket: Socket, ctx: SessionContext): boolean {
  return new Pop3Session(socket, ctx).start();
}

