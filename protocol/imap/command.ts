// What a command module declares: the states it runs in and its handler. Adding an extension means
// adding a module to the registry (commands/index.ts), not editing a switch.
import type { ParsedCommand } from './parser/tokens.ts';
import type { ImapSession } from './session.ts';

export type SessionState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

export interface CommandSpec {
  states: readonly SessionState[];
  /** Returns the text of the tagged OK (with its response code, if any). */
  run(session: ImapSession, cmd: ParsedCommand): Promise<string>;
  /** EXPUNGE responses may not be sent while answering this command (RFC 3501 7.4.1). */
  noExpunge?: boolean;
  /** Runs right after the tagged OK is written, before any further input is read (STARTTLS). */
  afterOk?(session: ImapSession): void;
}

/** A tagged NO or BAD the client can act on, e.g. new ImapError('NO', 'NONEXISTENT', 'no such mailbox'). */
export class ImapError extends Error {
  constructor(readonly status: 'NO' | 'BAD', readonly code: string | undefined, text: string) {
    super(text);
  }

  render(tag: string): string {
    return `${tag} ${this.status} ${this.code ? `[${this.code}] ` : ''}${this.message}`;
  }
}

/**
 * RFC 2180 4.1.2: a FETCH that names messages another session expunged answers what it can, then a
 * tagged NO; it never sends EXPUNGE mid-command (RFC 3501 7.4.1). Dovecot's words, which clients and
 * imaptest's stress run recognise as "expunged meanwhile", not as a failure.
 */
export const EXPUNGED_TEXT = 'Some of the requested messages no longer exist';

export const ANY: readonly SessionState[] = ['not-authenticated', 'authenticated', 'selected'];
export const AUTHENTICATED: readonly SessionState[] = ['authenticated', 'selected'];
export const SELECTED: readonly SessionState[] = ['selected'];
export const NOT_AUTHENTICATED: readonly SessionState[] = ['not-authenticated'];
