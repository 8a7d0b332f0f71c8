// What a test author uses on an embedded server: wait for mail without polling, clear it between tests,
// a catch-all recipient model, rich parsed messages, and chaos aimed at one thing — all through real
// clients where there is one (nodemailer, the POP3 wire).
import nodemailer from 'nodemailer';
import { startServer, UnknownUserError, type TegamiServer } from 'tegami';
import { afterEach, describe, expect, it } from 'vitest';
import { ChaosStore } from '../../server/chaos/index.ts';
import { openStore, StoreUnavailableError } from '../../storage/index.ts';
import { LineClient } from '../helpers/line-client.ts';
import { pop3Login } from '../helpers/pop3.ts';

let server: TegamiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const transport = (port: number, extra: object = {}) =>
  nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, ...extra });

describe('waiting for mail', () => {
  it('resolves when an SMTP delivery arrives, with the message; at once when it is already there', async () => {
    server = await startServer({ users: { alice: 'pw' } });
    const waiting = server.waitForMessage({ user: 'alice', subject: 'Welcome' });
    const mailer = transport(server.ports.smtp);
    await mailer.sendMail({ from: 'app@example.com', to: 'alice@example.com', subject: 'Welcome', text: 'hi' });
    mailer.close();
    const mail = await waiting;
    expect(mail.subject).toBe('Welcome');
    expect(mail.envelopeTo).toBe('alice@example.com');
    expect((await server.waitForMessage({ to: 'alice@example.com', subject: /^Wel/ })).uid).toBe(mail.uid);
  });

  it('waits for a count, filters with match, and says what it saw when it times out', async () => {
    server = await startServer({ users: { alice: 'pw' } });
    const three = server.waitForMessages({ user: 'alice', count: 3, match: (m) => m.text?.includes('code') === true });
    for (const n of [1, 2, 3]) await server.deliver('alice', `Subject: code ${n}\r\n\r\nyour code is ${n}\r\n`);
    expect((await three).map((m) => m.subject)).toEqual(['code 1', 'code 2', 'code 3']);
    await expect(server.waitForMessage({ user: 'alice', subject: 'never', timeoutMs: 50 })).rejects.toThrow(/no message matching .*"never".* within 50 ms/);
    await expect(server.waitForMessage({ user: 'nobody' })).rejects.toBeInstanceOf(UnknownUserError);
  });

  it('waitForNoMessage resolves after its window, and rejects as soon as a matching one arrives', async () => {
    server = await startServer({ users: { alice: 'pw' } });
    await server.waitForNoMessage({ user: 'alice', timeoutMs: 30 });
    const none = server.waitForNoMessage({ user: 'alice', subject: 'spam', timeoutMs: 5000 });
    await server.deliver('alice', 'Subject: spam\r\n\r\nx\r\n');
    await expect(none).rejects.toThrow(/arrived: "spam"/);
  });
});

describe('between tests', () => {
  it('purge(user) clears one account, purge() and reset() all of them (accounts and chaos reset too)', async () => {
    server = await startServer({ users: { alice: 'pw', bob: 'pw' } });
    await server.deliver('alice', 'Subject: a\r\n\r\na\r\n');
    await server.deliver('bob', 'Subject: b\r\n\r\nb\r\n');
    await server.purge('alice');
    expect(await server.messages('alice')).toEqual([]);
    expect((await server.messages('bob')).length).toBe(1);
    server.chaos.set({ readFailRate: 1 });
    await server.reset();
    expect(await server.allMessages()).toEqual([]);
    expect(server.chaos.current.readFailRate).toBe(0);
    const c = await pop3Login(server.ports.pop3, 'bob', 'pw');
    expect(await c.command('STAT')).toBe('+OK 0 0');
    c.close();
  });
});

describe('recipients', () => {
  it('deliver() to an unknown account is refused, as SMTP refuses it with 550', async () => {
    server = await startServer({ users: { alice: 'pw' } });
    await expect(server.deliver('carol', 'Subject: x\r\n\r\nx\r\n')).rejects.toBeInstanceOf(UnknownUserError);
    const mailer = transport(server.ports.smtp);
    await expect(mailer.sendMail({ from: 'a@example.com', to: 'carol@example.com', subject: 'x', text: 'x' })).rejects.toMatchObject({ responseCode: 550 });
    mailer.close();
  });

  it('plus-addressing lands in the base account, and the envelope recipient tells the aliases apart', async () => {
    server = await startServer({ users: { alice: 'pw' } });
    const mailer = transport(server.ports.smtp);
    await mailer.sendMail({ from: 'app@example.com', to: 'Alice+signup@example.com', subject: 'confirm', text: 'x' });
    await mailer.sendMail({ from: 'app@example.com', to: 'alice+news@example.com', subject: 'news', text: 'x' });
    mailer.close();
    const signup = await server.waitForMessage({ to: 'alice+signup@example.com' });
    expect(signup.subject).toBe('confirm');
    expect(signup.user).toBe('alice');
    expect((await server.messages('alice')).length).toBe(2);
  });

  it('autoCreateUsers: the first delivery or login creates the account, with any password', async () => {
    server = await startServer({ autoCreateUsers: true });
    const mailer = transport(server.ports.smtp);
    await mailer.sendMail({ from: 'app@example.com', to: 'zed@example.com', subject: 'hello zed', text: 'x' });
    mailer.close();
    await server.deliver('yan', 'Subject: hello yan\r\n\r\nx\r\n');
    expect((await server.waitForMessage({ user: 'zed' })).subject).toBe('hello zed');
    const c = await pop3Login(server.ports.pop3, 'yan', 'whatever');
    expect(await c.command('STAT')).toMatch(/^\+OK 1 /);
    c.close();
    const fresh = await pop3Login(server.ports.pop3, 'newcomer', 'anything');
    expect(await fresh.command('STAT')).toBe('+OK 0 0');
    fresh.close();
  });

  it('autoCreateUsers with a fixed password accepts only that one', async () => {
    server = await startServer({ autoCreateUsers: { password: 'test' } });
    await server.deliver('zed', 'Subject: x\r\n\r\nx\r\n');
    await expect(pop3Login(server.ports.pop3, 'zed', 'wrong')).rejects.toThrow(/PASS: -ERR/);
    const c = await pop3Login(server.ports.pop3, 'zed', 'test');
    c.close();
  });
});

describe('messages', () => {
  it('carry headers, date, Message-ID, cc, attachments and where they are; allMessages spans accounts and mailboxes', async () => {
    server = await startServer({ users: { alice: 'pw', bob: 'pw' } });
    const mailer = transport(server.ports.smtp);
    await mailer.sendMail({
      from: 'App <app@example.com>', to: 'alice@example.com', cc: 'Bob <bob@example.com>', subject: 'invoice',
      messageId: '<inv-1@example.com>', date: new Date('2026-01-02T03:04:05Z'), headers: { 'X-Campaign': 'spring' },
      text: 'see attached', attachments: [{ filename: 'invoice.txt', content: 'total: 3' }],
    });
    mailer.close();
    const m = await server.waitForMessage({ user: 'alice' });
    expect(m).toMatchObject({
      user: 'alice', mailbox: 'INBOX', from: '"App" <app@example.com>', cc: '"Bob" <bob@example.com>', messageId: '<inv-1@example.com>',
      recipients: ['alice@example.com', 'bob@example.com'], headers: expect.objectContaining({ 'x-campaign': ['spring'] }),
    });
    expect(m.envelopeTo).toBeUndefined(); // two RCPTs share one stored copy: no single envelope recipient
    expect(m.date?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(m.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['invoice.txt', 'total: 3']]);
    expect(m.uidl).toMatch(/^\d+\.\d+$/);
    await server.store.append('bob', 'Archive', Buffer.from('Subject: old\r\n\r\nx\r\n'));
    expect((await server.allMessages()).map((x) => `${x.user}/${x.mailbox}/${x.subject}`).sort()).toEqual(['alice/INBOX/invoice', 'bob/Archive/old', 'bob/INBOX/invoice']);
  });
});

describe('chaos for tests', () => {
  it("the helpers bypass chaos: messages() and deliver() work while the clients' reads fail", async () => {
    server = await startServer({ users: { alice: 'pw' }, chaos: { readFailRate: 1, writeFailRate: 1 } });
    await server.deliver('alice', 'Subject: still here\r\n\r\nx\r\n');
    expect((await server.messages('alice'))[0]?.subject).toBe('still here');
    await expect(pop3Login(server.ports.pop3, 'alice', 'pw')).rejects.toThrow(/PASS: -ERR \[SYS\/TEMP\]/); // its snapshot at login
  });

  it('failNext aims at one operation, account and protocol, for a count', async () => {
    server = await startServer({ users: { alice: 'pw', bob: 'pw' } });
    server.chaos.failNext({ op: 'snapshot', user: 'alice', protocol: 'pop3', count: 2 });
    const bob = await pop3Login(server.ports.pop3, 'bob', 'pw');
    expect(await bob.command('STAT')).toBe('+OK 0 0');
    bob.close();
    const login = async () => {
      const c = await LineClient.connect(server!.ports.pop3);
      await c.line();
      await c.command('USER alice');
      const answer = await c.command('PASS pw'); // a POP3 session takes its snapshot at login
      c.close();
      return answer;
    };
    expect([await login(), await login(), await login()]).toEqual([
      expect.stringMatching(/^-ERR \[SYS\/TEMP\]/), expect.stringMatching(/^-ERR \[SYS\/TEMP\]/), expect.stringMatching(/^\+OK/),
    ]);
    const imap = await LineClient.connect(server.ports.imap); // other protocols were never aimed at
    await imap.line();
    expect(await imap.command('a LOGIN alice pw')).toMatch(/^a OK/);
    imap.close();
  });

  it('a seed makes the random failures repeat exactly', async () => {
    const draws = async () => {
      const inner = await openStore({ memory: true });
      const chaos = new ChaosStore(inner, { forceShed: () => undefined }, { readFailRate: 0.5, seed: 42 });
      await inner.ensureUser('alice');
      const out: boolean[] = [];
      for (let i = 0; i < 20; i++) out.push(await chaos.snapshot('alice', 'INBOX').then(() => true, (e) => (expect(e).toBeInstanceOf(StoreUnavailableError), false)));
      await chaos.close();
      return out;
    };
    const first = await draws();
    expect(first).toContain(true);
    expect(first).toContain(false);
    expect(await draws()).toEqual(first);
  });

  it('scripted SMTP replies per stage, with the chosen code, then normal service', async () => {
    server = await startServer({ users: { alice: 'pw' } });
    server.chaos.smtpReply({ stage: 'MAIL', code: 421, message: '4.3.2 try later' });
    server.chaos.smtpReply({ stage: 'RCPT', code: 452, message: '4.2.2 mailbox full' });
    server.chaos.smtpReply({ stage: 'DATA', code: 554, message: '5.7.1 rejected' });
    const send = async () => {
      const t = transport(server!.ports.smtp, { pool: false });
      try {
        await t.sendMail({ from: 'a@example.com', to: 'alice@example.com', subject: 'x', text: 'x' });
        return 250;
      } catch (err) {
        return (err as { responseCode?: number }).responseCode;
      } finally {
        t.close();
      }
    };
    expect([await send(), await send(), await send(), await send()]).toEqual([421, 452, 554, 250]);
    expect((await server.messages('alice')).length).toBe(1);
  });
});

describe('SMTP for tests', () => {
  it('acceptAnySmtpAuth lets an application that insists on logging in send', async () => {
    server = await startServer({ users: { alice: 'pw' }, acceptAnySmtpAuth: true });
    const mailer = transport(server.ports.smtp, { auth: { user: 'app', pass: 'whatever' } });
    await mailer.sendMail({ from: 'a@example.com', to: 'alice@example.com', subject: 'authed', text: 'x' });
    mailer.close();
    expect((await server.waitForMessage({ user: 'alice' })).subject).toBe('authed');
  });

  it('the embedded server greets at once; smtpGreetingDelay keeps smtp-server\'s 100 ms wait', async () => {
    const greetingMs = async (port: number) => {
      const t0 = performance.now();
      const c = await LineClient.connect(port);
      expect(await c.line()).toMatch(/^220 /);
      const ms = performance.now() - t0;
      c.close();
      return ms;
    };
    server = await startServer({});
    const delayed = await startServer({ smtpGreetingDelay: true });
    try {
      const fast = Math.min(await greetingMs(server.ports.smtp), await greetingMs(server.ports.smtp));
      const slow = Math.min(await greetingMs(delayed.ports.smtp), await greetingMs(delayed.ports.smtp));
      expect(slow).toBeGreaterThanOrEqual(100);
      expect(fast).toBeLessThan(slow);
    } finally {
      await delayed.close();
    }
  });

  it('close() does not wait for a connected client by default', async () => {
    server = await startServer({ users: { alice: 'pw' } });
    const c = await pop3Login(server.ports.pop3, 'alice', 'pw');
    const t0 = performance.now();
    await server.close();
    server = undefined;
    expect(performance.now() - t0).toBeLessThan(1500); // drainMs was 2,000 before; now 0
    c.close();
  });
});
