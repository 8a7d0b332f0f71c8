// What a client is offered before and after TLS, and where a password may travel in the clear:
// on loopback (Thunderbird on localhost with "Connection security: None") yes; from elsewhere only
// after STARTTLS/STLS or on the TLS ports. "Elsewhere" is simulated with plaintextLogin: 'never',
// which is what the 'loopback' policy decides for a non-loopback address (see isLoopback below).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback, loginAllowed } from '../../protocol/transport-security.ts';
import type { TegamiServer } from '../../server/server.ts';
import { startTlsServer } from '../helpers/tls-server.ts';
import { LineClient } from '../helpers/line-client.ts';
import { pop3Multi } from '../helpers/pop3.ts';

let open: TegamiServer; // default policy, TLS on
let strict: TegamiServer; // as a client on another machine sees it
let noTls: TegamiServer;
beforeAll(async () => {
  open = await startTlsServer({ imapsPort: 0, pop3sPort: 0 });
  strict = await startTlsServer({ imapsPort: 0, pop3sPort: 0, plaintextLogin: 'never' });
  noTls = await startTlsServer({ tls: false });
});
afterAll(async () => {
  await Promise.all([open.close(), strict.close(), noTls.close()]);
});

const caps = (line: string | undefined) => (/CAPABILITY ([^\]]*)/.exec(line ?? '')?.[1] ?? '').split(' ');

async function imapCapabilities(c: LineClient, tag: string): Promise<string[]> {
  c.send(`${tag} CAPABILITY`);
  const lines = await c.until((l) => l.startsWith(`${tag} `));
  expect(lines.at(-1)).toMatch(new RegExp(`^${tag} OK`));
  return caps(lines[0]);
}

describe('plaintext policy', () => {
  it('lets loopback addresses log in without TLS, nobody else', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['192.0.2.1', '10.0.0.1', '::ffff:192.0.2.1', '2001:db8::1', '', '128.0.0.1']) expect(isLoopback(a), a).toBe(false);
    expect(loginAllowed(undefined, '192.0.2.1', false)).toBe(false);
    expect(loginAllowed(undefined, '192.0.2.1', true)).toBe(true);
    expect(loginAllowed('always', '192.0.2.1', false)).toBe(true);
    expect(loginAllowed('never', '127.0.0.1', false)).toBe(false);
  });
});

describe('IMAP capabilities before and after TLS', () => {
  it('loopback: STARTTLS and AUTH=PLAIN offered, LOGIN works in plaintext', async () => {
    const c = await LineClient.connect(open.ports.imap);
    const greeting = caps(await c.line());
    expect(greeting).toEqual(expect.arrayContaining(['STARTTLS', 'AUTH=PLAIN']));
    expect(greeting).not.toContain('LOGINDISABLED');
    expect(await c.command('a LOGIN alice secret')).toMatch(/^a OK/);
    c.close();
  });

  it('elsewhere: LOGINDISABLED, LOGIN and AUTHENTICATE refused with PRIVACYREQUIRED until STARTTLS; then no STARTTLS, AUTH=PLAIN', async () => {
    const c = await LineClient.connect(strict.ports.imap);
    const before = caps(await c.line());
    expect(before).toEqual(expect.arrayContaining(['STARTTLS', 'LOGINDISABLED']));
    expect(before).not.toContain('AUTH=PLAIN');
    expect(await c.command('a LOGIN alice secret')).toMatch(/^a NO \[PRIVACYREQUIRED\] .*STARTTLS/);
    expect(await c.command('b AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==')).toMatch(/^b NO \[PRIVACYREQUIRED\]/);
    const ok = await c.command('c STARTTLS');
    expect(ok).toBe('c OK Begin TLS negotiation now'); // no CAPABILITY code: the client must ask again
    await c.startTls({ ca: strict.certificate });
    const after = await imapCapabilities(c, 'd');
    expect(after).toContain('AUTH=PLAIN');
    expect(after).not.toContain('STARTTLS');
    expect(after).not.toContain('LOGINDISABLED');
    expect(await c.command('e STARTTLS')).toMatch(/^e BAD/);
    expect(await c.command('f LOGIN alice secret')).toMatch(/^f OK/);
    c.close();
  });

  it('elsewhere, on the IMAPS port: AUTH=PLAIN and no STARTTLS from the greeting on', async () => {
    const c = await LineClient.connectTls(strict.ports.imaps!, { ca: strict.certificate });
    const greeting = caps(await c.line());
    expect(greeting).toContain('AUTH=PLAIN');
    expect(greeting).not.toContain('STARTTLS');
    expect(greeting).not.toContain('LOGINDISABLED');
    expect(await c.command('a LOGIN alice secret')).toMatch(/^a OK/);
    c.close();
  });

  it('a server without a certificate offers no STARTTLS and answers it BAD', async () => {
    const c = await LineClient.connect(noTls.ports.imap);
    expect(caps(await c.line())).not.toContain('STARTTLS');
    expect(await c.command('a STARTTLS')).toMatch(/^a BAD STARTTLS not available/);
    expect(await c.command('b LOGIN alice secret')).toMatch(/^b OK/);
    c.close();
  });

  it('STARTTLS after login is refused', async () => {
    const c = await LineClient.connect(open.ports.imap);
    await c.line();
    await c.command('a LOGIN alice secret');
    expect(await c.command('b STARTTLS')).toMatch(/^b BAD/);
    c.close();
  });
});

describe('POP3 CAPA before and after TLS', () => {
  it('loopback: STLS, USER and SASL PLAIN offered; USER/PASS work in plaintext', async () => {
    const c = await LineClient.connect(open.ports.pop3);
    await c.line();
    expect((await pop3Multi(c, 'CAPA')).lines).toEqual(expect.arrayContaining(['STLS', 'USER', 'SASL PLAIN']));
    await c.command('USER alice');
    expect(await c.command('PASS secret')).toMatch(/^\+OK/);
    c.close();
  });

  it('elsewhere: no USER/SASL, -ERR [AUTH] until STLS; then USER and SASL PLAIN, no STLS', async () => {
    const c = await LineClient.connect(strict.ports.pop3);
    await c.line();
    const before = (await pop3Multi(c, 'CAPA')).lines;
    expect(before).toContain('STLS');
    expect(before).not.toContain('USER');
    expect(before).not.toContain('SASL PLAIN');
    expect(await c.command('USER alice')).toMatch(/^-ERR \[AUTH\] .*STLS/);
    expect(await c.command('AUTH PLAIN AGFsaWNlAHNlY3JldA==')).toMatch(/^-ERR \[AUTH\]/);
    expect(await c.command('STLS')).toBe('+OK begin TLS negotiation');
    await c.startTls({ ca: strict.certificate });
    const after = (await pop3Multi(c, 'CAPA')).lines;
    expect(after).toEqual(expect.arrayContaining(['USER', 'SASL PLAIN']));
    expect(after).not.toContain('STLS');
    expect(await c.command('STLS')).toMatch(/^-ERR/);
    await c.command('USER alice');
    expect(await c.command('PASS secret')).toMatch(/^\+OK 0 messages/);
    c.close();
  });

  it('elsewhere, on the POP3S port: USER/PASS work at once', async () => {
    const c = await LineClient.connectTls(strict.ports.pop3s!, { ca: strict.certificate });
    await c.line();
    const capa = (await pop3Multi(c, 'CAPA')).lines;
    expect(capa).toContain('USER');
    expect(capa).not.toContain('STLS');
    await c.command('USER alice');
    expect(await c.command('PASS secret')).toMatch(/^\+OK/);
    c.close();
  });
});
