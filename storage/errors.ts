// Errors a store raises. Protocol code maps them to its own codes; nothing else should be thrown
// across the storage interface.
import type { CopyResult } from './types.ts';

/** The store cannot answer right now (I/O failure, injected fault, overload): a temporary error. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/**
 * New mail is refused because the data directory is down to its free-space floor. Temporary, and
 * only for what adds mail: deletions still commit, so users can make room. A StoreUnavailableError,
 * so code that knows only that one still answers "try later".
 */
export class StoreFullError extends StoreUnavailableError {
  override name = 'StoreFullError';
}

export class MailboxNotFoundError extends Error {
  override name = 'MailboxNotFoundError';
  constructor(readonly mailbox: string) {
    super(`no such mailbox: ${mailbox}`);
  }
}

export class MailboxExistsError extends Error {
  override name = 'MailboxExistsError';
  constructor(readonly mailbox: string) {
    super(`mailbox already exists: ${mailbox}`);
  }
}

/** The request breaks a rule of the store (deleting INBOX, a name that is not allowed…). */
export class StoreRuleError extends Error {
  override name = 'StoreRuleError';
}

export class UnknownUserError extends Error {
  override name = 'UnknownUserError';
  constructor(readonly user: string) {
    super(`no such user: ${user}`);
  }
}

/**
 * A move that failed part of the way: the messages in `done` were moved, the others are where they
 * were (each message is moved or untouched, RFC 6851 3.3). `cause` is why it stopped.
 */
export class PartialMoveError extends Error {
  override name = 'PartialMoveError';
  constructor(override readonly cause: unknown, readonly done: CopyResult) {
    super(`moved ${done.mapping.length} messages, then: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

export function isTemporary(err: unknown): boolean {
  return err instanceof StoreUnavailableError;
}

/** The message was expunged and its body reclaimed after the session's snapshot was taken. */
export class MessageGoneError extends Error {
  override name = 'MessageGoneError';
}

/**
 * Stored data this version cannot read: written by a newer tegami, or damaged. Never guessed at: a
 * misread record could hand a client wrong UIDs (invariant 1).
 */
export class StoreFormatError extends Error {
  override name = 'StoreFormatError';
}
