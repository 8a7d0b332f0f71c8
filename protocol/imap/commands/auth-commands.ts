// LOGIN and AUTHENTICATE PLAIN (RFC 4959 SASL-IR). Failures are answered after the login guard's
// pause and with AUTHENTICATIONFAILED; the governor may refuse a correct login with UNAVAILABLE or LIMIT.
import { decodeSaslPlain } from '../../sasl/plain.ts';
import { ImapError, NOT_AUTHENTICATED, type CommandSpec } from '../command.ts';
import { astring, atom, expectEnd } from '../parser/tokens.ts';
import type { ImapSession } from '../session.ts';

/** RFC 3501 6.2.3 / RFC 5530: no password over an unprotected connection unless the policy allows it. */
function requirePrivacy(s: ImapSession): void {
  if (!s.loginAllowed) {
    throw new ImapError('NO', 'PRIVACYREQUIRED', s.ctx.tls ? 'plaintext login disallowed on this connection: use STARTTLS first' : 'plaintext login disallowed on this connection');
  }
}

async function login(s: ImapSession, user: string, password: string, authzid?: string): Promise<string> {
  const address = s.remoteAddress;
  if (!s.ctx.logins.allowed(address)) throw new ImapError('NO', 'UNAVAILABLE', 'too many failed logins from your address, try again later');
  const name = await s.ctx.auth.verify(user, password);
  // Gone while the password was checked: take no slot that close() could no longer give back.
  if (s.isClosed) throw new ImapError('BAD', undefined, 'connection closed');
  if (!name || (authzid && authzid !== user && authzid !== name)) {
    await s.ctx.logins.failed('imap', address, user, s.ctx.log);
    s.loginFailed();
    throw new ImapError('NO', 'AUTHENTICATIONFAILED', 'invalid user name or password');
  }
  s.ctx.logins.succeeded(address);
  const admission = s.ctx.governor.admitLogin('imap', name, s.remoteAddress);
  if (admission.refused) throw new ImapError('NO', admission.kind === 'limit' ? 'LIMIT' : 'UNAVAILABLE', admission.text);
  s.loggedIn(name, admission);
  return `[CAPABILITY ${s.capabilities().join(' ')}] logged in`;
}

export const LOGIN: CommandSpec = {
  states: NOT_AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 2);
    requirePrivacy(s);
    return login(s, astring(cmd.args[0], 'user name'), astring(cmd.args[1], 'password'));
  },
};

/** RFC 3501 6.2.1 (RFC 2595): the switch happens after the OK is written; see ImapSession.startTls. */
export const STARTTLS: CommandSpec = {
  states: NOT_AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 0);
    if (s.encrypted) throw new ImapError('BAD', undefined, 'TLS is already active');
    if (!s.ctx.tls) throw new ImapError('BAD', undefined, 'STARTTLS not available: the server has no certificate');
    return 'Begin TLS negotiation now';
  },
  afterOk: (s) => s.startTls(),
};

export const AUTHENTICATE: CommandSpec = {
  states: NOT_AUTHENTICATED,
  async run(s, cmd) {
    const mech = atom(cmd.args[0], 'mechanism').toUpperCase();
    if (mech !== 'PLAIN') throw new ImapError('NO', 'CANNOT', 'only AUTHENTICATE PLAIN is supported');
    expectEnd(cmd.args, 2);
    requirePrivacy(s);
    let response = cmd.args[1] ? astring(cmd.args[1]) : undefined;
    if (response === undefined) {
      s.send('+ ');
      response = await s.readLine();
      if (response === undefined) throw new ImapError('BAD', undefined, 'connection closed');
    }
    if (response === '*') throw new ImapError('BAD', undefined, 'AUTHENTICATE cancelled');
    const creds = decodeSaslPlain(response === '=' ? '' : response);
    if (!creds) throw new ImapError('BAD', undefined, 'malformed SASL PLAIN response');
    return login(s, creds.authcid, creds.password, creds.authzid);
  },
};
