// tegami over PostgreSQL as an operator runs it: `tegami serve --store postgres://…` with real
// protocol clients, a restart that changes no UIDL, `tegami migrate-store` from a LevelDB data
// directory that a POP3 "leave mail on the server" client does not notice, and an imapflow session
// through the embedding API (startServer({ store })).
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../../server/index.ts';
import { uidlList } from '../helpers/pop3.ts';
import { postgresSkipReason, withPostgres } from '../helpers/postgres.ts';
import { BIN, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { sendMail } from '../helpers/smtp.ts';

const skip = postgresSkipReason();
const tegami = (args: string[]) => promisify(execFile)(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const tempData = () => mkdtempSync(join(tmpdir(), 'tegami-pg-e2e-'));

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function imapStatus(port: number): Promise<{ uidValidity: bigint; uidNext: number }> {
  // plain IMAP on loopback: `serve --data` offers STARTTLS with its self-signed certificate
  const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user: 'alice', pass: 'secret' }, logger: false });
  await c.connect();
  try {
    const s = await c.status('INBOX', { uidValidity: true, uidNext: true });
    if (!s) throw new Error('STATUS INBOX failed');
    return { uidValidity: s.uidValidity!, uidNext: s.uidNext! };
  } finally {
    await c.logout();
  }
}

// several server and CLI processes each (tsx starts them from the sources): seconds each on a busy machine
describe.skipIf(skip)(`tegami on postgres${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 120_000 }, () => {
  const cluster = withPostgres();

  it('serve --store: delivers over SMTP, lists over POP3, and keeps every UIDL across a restart', async () => {
    const url = await cluster().newDatabase();
    const args = ['--store', url, '--data', tempData(), '--user', 'alice:secret'];
    server = await startServerProcess(args);
    for (const s of ['one', 'two', 'three']) await sendMail(server.ports.smtp, 'alice@example.org', s);
    const before = await uidlList(server.ports.pop3, 'alice', 'secret');
    expect(before).toHaveLength(3);
    await server.stop();
    server = await startServerProcess(args);
    expect(await uidlList(server.ports.pop3, 'alice', 'secret')).toEqual(before);
    await sendMail(server.ports.smtp, 'alice@example.org', 'four');
    const after = await uidlList(server.ports.pop3, 'alice', 'secret');
    expect(after.slice(0, 3)).toEqual(before);
    expect(after).toHaveLength(4);
  });

  it('migrate-store: a POP3 client sees the same UIDLs, and IMAP the same UIDVALIDITY and UIDNEXT, after the move', async () => {
    const data = tempData();
    server = await startServerProcess(['--data', data, '--user', 'alice:secret']);
    for (const s of ['one', 'two', 'three', 'four']) await sendMail(server.ports.smtp, 'alice@example.org', s);
    const onLevel = await uidlList(server.ports.pop3, 'alice', 'secret');
    const levelStatus = await imapStatus(server.ports.imap);
    await server.stop();
    server = undefined;

    const url = await cluster().newDatabase();
    const out = await tegami(['migrate-store', '--data', data, '--store', url]);
    expect(out.stdout).toMatch(/^copied 1 accounts, 4 messages, 4 bodies/);
    // a second run would mix two stores: refused
    await expect(tegami(['migrate-store', '--data', data, '--store', url])).rejects.toThrow(/not empty/);

    server = await startServerProcess(['--store', url, '--data', data, '--user', 'alice:secret']);
    expect(await uidlList(server.ports.pop3, 'alice', 'secret')).toEqual(onLevel);
    expect(await imapStatus(server.ports.imap)).toEqual(levelStatus);
    await sendMail(server.ports.smtp, 'alice@example.org', 'five');
    const next = await uidlList(server.ports.pop3, 'alice', 'secret');
    expect(next.slice(0, 4)).toEqual(onLevel);
    expect(next[4]).toMatch(new RegExp(`^5 ${levelStatus.uidValidity}\\.${levelStatus.uidNext}$`));
  });

  it('startServer({ store }): an imapflow session reads, flags and expunges, and a new server sees the same', async () => {
    const store = await cluster().newDatabase();
    let embedded = await startServer({ store, users: { alice: 'secret' } });
    await embedded.deliver('alice', 'From: a@example.com\r\nSubject: first\r\n\r\nhello one\r\n');
    await embedded.deliver('alice', 'From: b@example.com\r\nSubject: second\r\n\r\nhello two\r\n');
    const c = new ImapFlow({ host: '127.0.0.1', port: embedded.ports.imap, secure: false, auth: { user: 'alice', pass: 'secret' }, logger: false });
    await c.connect();
    const box = await c.mailboxOpen('INBOX');
    const first = await c.fetchOne('1', { envelope: true, source: true, uid: true });
    expect(first && first.envelope?.subject).toBe('first');
    expect(first && first.source?.toString()).toContain('hello one');
    await c.messageFlagsAdd('1', ['\\Seen']);
    await c.messageDelete('2');
    await c.logout();
    await embedded.close();

    embedded = await startServer({ store, users: { alice: 'secret' } });
    try {
      const [m, ...rest] = await embedded.messages('alice');
      expect(rest).toEqual([]);
      expect(m).toMatchObject({ uid: first && first.uid, subject: 'first', flags: ['\\Seen'] });
      expect((await imapStatus(embedded.ports.imap)).uidValidity).toBe(box.uidValidity);
    } finally {
      await embedded.close();
    }
  });
});
