// The governor's slots a POP3 or IMAP session holds: its connection's, from the greeting, and its
// account's, from login. Both are given back together, once, when the socket has really closed
// (session-socket.ts), never when the goodbye is only said.
import type { Admitted } from './session-context.ts';

export class AdmissionSlots {
  private session: Admitted | undefined;
  private login: Admitted | undefined;

  /** The connection was admitted. */
  admitted(slot: Admitted): void {
    this.session = slot;
  }

  /** The login was admitted: the account's slot is held, and the session no longer counts as starting. */
  loggedIn(slot: Admitted): void {
    this.login = slot;
    this.session?.started();
  }

  /** A command arrived: the session counts as work outstanding for a while. */
  active(): void {
    this.session?.active();
  }

  release(): void {
    this.login?.release();
    this.session?.release();
    this.login = this.session = undefined;
  }
}
