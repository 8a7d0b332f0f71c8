// POP3 server sessions over any socket; see session.ts for the concurrency model.
import type { Socket } from 'node:net';
import type { SessionContext } from '../session-context.ts';
import { Pop3Session } from './session.ts';

export function handlePop3Connection(socket: Socket, ctx: SessionContext): void {
  new Pop3Session(socket, ctx).start();
}

