// Real clients over TLS, each trusting only the server's certificate (as a user who accepted it):
// imapflow (STARTTLS and IMAPS), Python's imaplib/poplib (starttls(), stls(), IMAP4_SSL, POP3_SSL)
// and nodemailer (SMTP STARTTLS, required). The server's plaintext policy is 'never', so a client
// that silently stayed in plaintext could not log in.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TegamiServer } from '../../server/server.ts';
import { startTlsServer } from '../helpers/tls-server.ts';

let server: TegamiServer;
let dir: string;
let caFile: string;
beforeAll(async () => {
  server = await startTlsServer({ imapsPort: 0, pop3sPort: 0, plaintextLogin: 'never' });
  for (let i = 1; i <= 3; i++) await server.deliver('alice', `From: a@example.com\r\nSubject: tls ${i}\r\n\r\nbody ${i}\r\n`);
  dir = mkdtempSync(join(tmpdir(), 'tegami-tls-clients-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, server.certificate!);
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('imapflow', () => {
  for (const mode of ['STARTTLS', 'IMAPS'] as const) {
    it(`logs in over ${mode}, the certificate verified, and fetches`, async () => {
      const c = new ImapFlow({
        host: '127.0.0.1',
        port: mode === 'IMAPS' ? server.ports.imaps! : server.ports.imap,
        secure: mode === 'IMAPS',
        doSTARTTLS: mode === 'STARTTLS' ? true : undefined,
        tls: { ca: server.certificate },
        auth: { user: 'alice', pass: 'secret' },
        logger: false,
      });
      await c.connect();
      try {
        expect(c.secureConnection).toBe(true);
        // imapflow records the handshake for STARTTLS; on IMAPS tls.connect verified against `ca` or failed
        if (mode === 'STARTTLS') expect((c as unknown as { tls: { authorized: boolean } }).tls.authorized).toBe(true);
        const lock = await c.getMailboxLock('INBOX');
        try {
          const subjects: string[] = [];
          for await (const m of c.fetch('1:*', { envelope: true })) subjects.push(m.envelope!.subject!);
          expect(subjects).toEqual(['tls 1', 'tls 2', 'tls 3']);
        } finally {
          lock.release();
        }
      } finally {
        await c.logout();
      }
    });
  }
});

const PYTHON = `
import imaplib, poplib, ssl, sys
ca, imap, imaps, pop3, pop3s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ctx = ssl.create_default_context(cafile=ca)
out = []
i = imaplib.IMAP4('127.0.0.1', imap, timeout=10)
out.append('imap-plain-caps ' + ' '.join(sorted(c for c in i.capabilities if c in ('STARTTLS', 'LOGINDISABLED', 'AUTH=PLAIN'))))
i.starttls(ssl_context=ctx)
out.append('imap-tls-caps ' + ' '.join(sorted(c for c in i.capabilities if c in ('STARTTLS', 'LOGINDISABLED', 'AUTH=PLAIN'))))
i.login('alice', 'secret'); out.append('imap-starttls ' + i.select('INBOX')[1][0].decode()); i.logout()
i = imaplib.IMAP4_SSL('127.0.0.1', imaps, ssl_context=ctx, timeout=10)
i.login('alice', 'secret'); out.append('imaps ' + i.select('INBOX')[1][0].decode()); i.logout()
p = poplib.POP3('127.0.0.1', pop3, timeout=10)
p.stls(context=ctx); p.user('alice'); p.pass_('secret'); out.append('pop3-stls %d' % p.stat()[0]); p.quit()
p = poplib.POP3_SSL('127.0.0.1', pop3s, context=ctx, timeout=10)
p.user('alice'); p.pass_('secret'); out.append('pop3s %d' % p.stat()[0]); p.quit()
print('\\n'.join(out))
`;

describe('Python imaplib and poplib', () => {
  it('STARTTLS, IMAP4_SSL, STLS and POP3_SSL with the server certificate as the only CA', async () => {
    const { stdout } = await promisify(execFile)('python3', ['-c', PYTHON, caFile, ...[server.ports.imap, server.ports.imaps, server.ports.pop3, server.ports.pop3s].map(String)]);
    expect(stdout.trim().split('\n')).toEqual([
      'imap-plain-caps LOGINDISABLED STARTTLS',
      'imap-tls-caps AUTH=PLAIN', // imaplib asks again after STARTTLS
      'imap-starttls 3',
      'imaps 3',
      'pop3-stls 3',
      'pop3s 3',
    ]);
  });
});

describe('nodemailer', () => {
  it('delivers over SMTP with STARTTLS required and the certificate verified', async () => {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: server.ports.smtp, secure: false, requireTLS: true, tls: { ca: server.certificate } });
    const info = await t.sendMail({ from: 'app@example.com', to: 'alice@example.com', subject: 'over STARTTLS', text: 'hi' });
    expect(info.response).toMatch(/^250/);
    t.close();
    expect((await server.messages('alice')).map((m) => m.subject)).toContain('over STARTTLS');
  });
});
