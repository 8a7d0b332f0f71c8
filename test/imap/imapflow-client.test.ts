// IMAP as a real client library (imapflow) uses it, against a whole embedded server.
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TegamiServer } from '../../server/index.ts';

let server: TegamiServer;
const clients: ImapFlow[] = [];

async function connect(): Promise<ImapFlow> {
  const c = new ImapFlow({ host: '127.0.0.1', port: server.ports.imap, secure: false, auth: { user: 'alice', pass: 'secret' }, logger: false });
  await c.connect();
  clients.push(c);
  return c;
}

/** fetchOne resolves to false for a missing message; here that is a failure. */
async function one(c: ImapFlow, range: string, query: Parameters<ImapFlow['fetchOne']>[1], opts?: Parameters<ImapFlow['fetchOne']>[2]) {
  const m = await c.fetchOne(range, query, opts);
  if (!m) throw new Error(`message ${range} not found`);
  return m;
}

const MULTIPART = [
  'From: Bob <bob@example.com>',
  'To: Alice <alice@example.com>',
  'Subject: =?UTF-8?Q?Caf=C3=A9?= plans',
  'Date: Tue, 24 Nov 2026 09:00:00 +0000',
  'Message-ID: <multi@example.com>',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Let us meet at the café.',
  '--b1',
  'Content-Type: application/pdf; name="plan.pdf"',
  'Content-Disposition: attachment; filename="plan.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  'JVBERi0xLjQK',
  '--b1--',
  '',
].join('\r\n');

beforeAll(async () => {
  server = await startServer({ users: { alice: 'secret' } });
  await server.deliver('alice', 'From: a@example.com\r\nSubject: first\r\n\r\nhello one\r\n');
  await server.deliver('alice', MULTIPART);
  await server.deliver('alice', 'From: c@example.com\r\nSubject: third\r\n\r\n.dot line\r\nthree\r\n');
});

afterAll(async () => {
  for (const c of clients) await c.logout().catch(() => undefined);
  await server.close();
});

describe('imapflow against tegami', () => {
  it('logs in, lists special-use folders and reads STATUS', async () => {
    const c = await connect();
    const list = await c.list();
    expect(list.map((m) => [m.path, m.specialUse]).sort()).toEqual(
      [['Archive', '\\Archive'], ['Drafts', '\\Drafts'], ['INBOX', '\\Inbox'], ['Junk', '\\Junk'], ['Sent', '\\Sent'], ['Trash', '\\Trash']].sort(),
    );
    const st = await c.status('INBOX', { messages: true, unseen: true, uidNext: true, uidValidity: true });
    expect(st).toMatchObject({ messages: 3, unseen: 3, uidNext: 4 });
  });

  it('fetches flags, envelope, body structure, whole sources and partial sections', async () => {
    const c = await connect();
    const lock = await c.getMailboxLock('INBOX', { readOnly: true });
    try {
      const msgs = [];
      for await (const m of c.fetch('1:*', { uid: true, flags: true, envelope: true, bodyStructure: true, size: true })) msgs.push(m);
      expect(msgs.map((m) => m.uid)).toEqual([1, 2, 3]);
      expect(msgs[1]!.envelope?.subject).toBe('Café plans');
      expect(msgs[1]!.envelope?.from?.[0]).toMatchObject({ name: 'Bob', address: 'bob@example.com' });
      expect(msgs[1]!.bodyStructure?.childNodes?.map((n) => n.type)).toEqual(['text/plain', 'application/pdf']);
      const two = await one(c, '2', { source: true, bodyParts: ['1', '2'] });
      expect(two.source?.toString()).toContain('Let us meet');
      expect(two.source?.length).toBe(msgs[1]!.size);
      expect(two.bodyParts?.get('1')?.toString()).toBe('Let us meet at the café.');
      const part = await c.download('2', '2');
      const chunks: Buffer[] = [];
      for await (const ch of part.content!) chunks.push(ch as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('%PDF-1.4\n');
      const three = await one(c, '3', { source: true });
      expect(three.source?.toString()).toContain('\r\n.dot line\r\n');
    } finally {
      lock.release();
    }
  });

  it('searches by header, body, flags and UID', async () => {
    const c = await connect();
    const lock = await c.getMailboxLock('INBOX');
    try {
      expect(await c.search({ subject: 'café' })).toEqual([2]);
      expect(await c.search({ body: 'THREE' })).toEqual([3]);
      expect(await c.search({ from: 'bob@example.com' })).toEqual([2]);
      expect(await c.search({ uid: '2:3', seen: false }, { uid: true })).toEqual([2, 3]);
      expect(await c.search({ larger: 100000 })).toEqual([]);
    } finally {
      lock.release();
    }
  });

  it('stores flags, appends with APPENDUID, copies and moves with COPYUID, and expunges', async () => {
    const c = await connect();
    const lock = await c.getMailboxLock('INBOX');
    try {
      await c.messageFlagsAdd('1', ['\\Seen', '$Important']);
      const f = await one(c, '1', { flags: true });
      expect([...f.flags!].sort()).toEqual(['$Important', '\\Seen']);
      const app = await c.append('INBOX', 'From: me@example.com\r\nSubject: appended\r\n\r\nbody\r\n', ['\\Draft'], new Date('2026-01-02T03:04:05Z'));
      expect(app).toMatchObject({ uid: 4 });
      const copy = await c.messageCopy('1', 'Archive');
      expect(copy && [...copy.uidMap!.entries()]).toEqual([[1, 1]]);
      const move = await c.messageMove('4', 'Drafts', { uid: true });
      expect(move && [...move.uidMap!.keys()]).toEqual([4]);
      expect(c.mailbox && c.mailbox.exists).toBe(3);
      await c.messageFlagsAdd('3', ['\\Deleted']);
      await c.messageDelete('3');
      const left = [];
      for await (const m of c.fetch('1:*', { uid: true })) left.push(m.uid);
      expect(left).toEqual([1, 2]);
      const drafts = await c.status('Drafts', { messages: true });
      expect(drafts).toMatchObject({ messages: 1 });
    } finally {
      lock.release();
    }
  });

  it('creates, renames and deletes folders, with children', async () => {
    const c = await connect();
    await c.mailboxCreate('Projects/2026');
    expect((await c.list()).map((m) => m.path)).toEqual(expect.arrayContaining(['Projects', 'Projects/2026']));
    await c.mailboxRename('Projects', 'Work');
    expect((await c.list()).map((m) => m.path)).toEqual(expect.arrayContaining(['Work', 'Work/2026']));
    await c.mailboxDelete('Work/2026');
    expect((await c.list()).map((m) => m.path)).not.toContain('Work/2026');
  });

  it('tells an idling client about new mail', async () => {
    const c = await connect();
    const lock = await c.getMailboxLock('INBOX');
    try {
      const before = c.mailbox && c.mailbox.exists;
      const seen = new Promise<number>((resolve) => c.on('exists', (d: { count: number }) => resolve(d.count)));
      const idle = c.idle();
      await new Promise((r) => setTimeout(r, 100));
      await server.deliver('alice', 'From: x@example.com\r\nSubject: while idling\r\n\r\nping\r\n');
      const count = await Promise.race([seen, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no EXISTS while idling')), 5000))]);
      expect(count).toBe((before as number) + 1);
      await c.noop();
      await idle;
    } finally {
      lock.release();
    }
  });
});
