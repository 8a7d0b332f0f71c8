// What a protocol session is handed by the server: the store, authentication, admission control
// and a logger. Protocol code depends on these interfaces only; server/ provides the objects.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { MailStore } from '../storage/types.ts';
import type { LoginGuard } from './login-guard.ts';
import type { PlaintextLogin } from './transport-security.ts';

export type Protocol = 'pop3' | 'imap' | 'smtp' | 'lmtp';

export interface Authenticator {
  /** Resolves to the canonical user name when the password is right, otherwise undefined. */
  verify(user: string, password: string): Promise<string | undefined>;
}

/** A refusal: the protocol turns it into its temporary code (POP3 [SYS/TEMP] / [IN-USE], IMAP [UNAVAILABLE] / [LIMIT]). */
export interface Refusal {
  readonly refused: true;
  /** 'busy' → try later; 'limit' → a per-user or per-address limit was hit. */
  readonly kind: 'busy' | 'limit';
  readonly text: string;
}

export interface Admitted {
  readonly refused: false;
  /**
   * A session's admission: call when it has started (logged in). Until then it counts as waiting
   * work, and accept → started is the session-start latency the governor watches.
   */
  started(): void;
  /** A session's admission: call as each command starts (a session that sends none is not busy). */
  active(): void;
  /** Call once when the admitted unit (a session) ends. */
  release(): void;
}

export type Admission = Admitted | Refusal;

/**
 * The one place that decides admission (invariant 6). Protocol code asks; it never decides alone.
 * Heavy commands run through `heavy`: if the work cannot start before its deadline it rejects with
 * OverloadedError, and the protocol answers its temporary code before writing any line.
 */
export interface Governor {
  admitSession(protocol: Protocol, remoteAddress: string): Admission;
  admitLogin(protocol: Protocol, user: string, remoteAddress: string): Admission;
  heavy<T>(protocol: Protocol, user: string, command: string, work: () => Promise<T>): Promise<T>;
  /**
   * The work a login needs before it can answer (POP3's maildrop snapshot): like `heavy`, but
   * served ahead of every queued heavy command (logins rank above new sessions' reads).
   */
  loginWork<T>(protocol: Protocol, user: string, work: () => Promise<T>): Promise<T>;
  /**
   * Asked before every command but logins and goodbyes: undefined when it may run now, else a
   * promise that resolves at its turn of the event loop (logins go first; nothing is refused).
   */
  turn(): Promise<void> | undefined;
}

export class OverloadedError extends Error {
  override name = 'OverloadedError';
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** The server's certificate, for STARTTLS/STLS. */
export interface TlsProvider {
  /** Turns an accepted plaintext socket into the server side of a TLS connection (handshake pending). */
  secure(socket: Socket): TLSSocket;
}

export interface SessionContext {
  readonly store: MailStore;
  readonly auth: Authenticator;
  readonly governor: Governor;
  readonly log: Logger;
  /** Failed logins: the pause before answering one, refusals for an address that keeps guessing. */
  readonly logins: LoginGuard;
  /** Name sent in greetings and IMPLEMENTATION. */
  readonly serverName: string;
  /** Largest message accepted (APPEND, SMTP SIZE), octets. */
  readonly maxMessageSize: number;
  /** Idle time before an unauthenticated or authenticated session is dropped, ms. */
  readonly idleTimeoutMs: number;
  /** Present when the server has a certificate: STARTTLS (IMAP) and STLS (POP3) are offered. */
  readonly tls?: TlsProvider;
  /** Where a password may be sent without TLS (default 'loopback'). */
  readonly plaintextLogin?: PlaintextLogin;
}
