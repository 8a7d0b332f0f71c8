// test/chaos.test.ts — what your code does when the mail server fails
import nodemailer from 'nodemailer';
import { startServer } from 'tegami';
import { expect, test } from 'vitest';

test('a temporary SMTP failure is retried', async () => {
  const server = await startServer({ autoCreateUsers: true }); // any recipient gets an account
  try {
    server.chaos.smtpReply({ stage: 'RCPT', code: 451, message: '4.3.0 try again later' });
    const mailer = nodemailer.createTransport({ host: server.host, port: server.ports.smtp, ignoreTLS: true });
    const send = () => mailer.sendMail({ from: 'app@example.com', to: 'bob@example.com', subject: 'Invoice', text: '...' });
    await expect(send()).rejects.toMatchObject({ responseCode: 451 }); // your retry logic sees this
    await send(); // the next attempt goes through
    expect((await server.waitForMessage({ user: 'bob' })).subject).toBe('Invoice');
  } finally {
    await server.close();
  }
});

test('a mailbox that cannot be read says "try later", once', async () => {
  const server = await startServer({ users: { carol: 'pw' } });
  try {
    await server.deliver('carol', 'Subject: hello\r\n\r\nhi\r\n');
    server.chaos.failNext({ op: 'snapshot', user: 'carol', protocol: 'imap' });
    const { ImapFlow } = await import('imapflow');
    const imap = new ImapFlow({ host: server.host, port: server.ports.imap, secure: false, auth: { user: 'carol', pass: 'pw' }, logger: false });
    await imap.connect();
    await expect(imap.mailboxOpen('INBOX')).rejects.toThrow(); // NO [UNAVAILABLE]
    expect((await imap.mailboxOpen('INBOX')).exists).toBe(1);
    await imap.logout();
  } finally {
    await server.close();
  }
});
