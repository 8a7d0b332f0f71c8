// test/sign-up.test.ts — one server per test file, cleared between tests
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { startServer, type TegamiServer } from 'tegami';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';

let server: TegamiServer;
beforeAll(async () => {
  server = await startServer({ users: { alice: 'secret' } }); // in memory, free ports
});
beforeEach(() => server.reset()); // no mail, no chaos
afterAll(() => server.close());

// stands in for your application's mailer, configured with the server's SMTP port
const sendSignUpMail = async (to: string) => {
  const mailer = nodemailer.createTransport({ host: server.host, port: server.ports.smtp, pool: true, ignoreTLS: true });
  await mailer.sendMail({ from: 'app@example.com', to, subject: 'Confirm your address', text: 'Your code: 4711' });
  mailer.close();
};

test('the sign-up mail arrives', async () => {
  await sendSignUpMail('alice+signup@example.com'); // plus-addressing lands in alice's INBOX
  const mail = await server.waitForMessage({ to: 'alice+signup@example.com', subject: /confirm/i });
  expect(mail.text).toContain('4711');
  expect(mail.envelopeTo).toBe('alice+signup@example.com');
});

test('a mail client can read and file it', async () => {
  await sendSignUpMail('alice@example.com');
  await server.waitForMessage({ user: 'alice' });
  const imap = new ImapFlow({ host: server.host, port: server.ports.imap, secure: false, auth: { user: 'alice', pass: 'secret' }, logger: false });
  await imap.connect();
  await imap.mailboxOpen('INBOX');
  await imap.messageMove('1:*', 'Archive');
  await imap.logout();
  expect(await server.messages('alice', 'Archive')).toHaveLength(1);
  await server.waitForNoMessage({ user: 'alice', timeoutMs: 100 }); // INBOX stays empty
});
