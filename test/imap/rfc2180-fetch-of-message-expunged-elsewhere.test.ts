// RFC 2180 4.1.2 with RFC 3501 7.4.1: a FETCH by sequence number that names a message another session
// expunged (and whose bytes are gone) answers the other messages, then a tagged NO [EXPUNGEISSUED]
// in Dovecot's words; no EXPUNGE is sent during the FETCH — the client hears of it afterwards.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { MailStoreAdmin } from '../../storage/index.ts';
import { closeHarnesses, imapHarness, imapSession, message, type ImapTestSession } from '../helpers/imap-session.ts';
import type { Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(closeHarnesses);

/** Session A has two messages selected; session B expunged the first, and its body was reclaimed. */
async function firstOfTwoReclaimedBehindItsBack(): Promise<ImapTestSession> {
  h = await imapHarness();
  await h.store.deliver(['alice'], message('Subject: one'));
  await h.store.deliver(['alice'], message('Subject: two'));
  const a = await imapSession(h.port);
  const b = await imapSession(h.port);
  await a.run('SELECT INBOX');
  await b.run('SELECT INBOX');
  await b.run('STORE 1 +FLAGS.SILENT (\\Deleted)');
  await b.run('EXPUNGE');
  await (h.store as unknown as MailStoreAdmin).reclaimDrained();
  return a;
}

describe('RFC 2180 4.1.2 FETCH of a message expunged by another session', () => {
  it('answers the rest, then NO [EXPUNGEISSUED], and tells of the EXPUNGE only after', async () => {
    const a = await firstOfTwoReclaimedBehindItsBack();
    const r = await a.run('FETCH 1:2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    expect(r.some((l) => / EXPUNGE$/.test(l))).toBe(false);
    expect(r.some((l) => l.startsWith('* 2 FETCH'))).toBe(true);
    expect(r.pop()).toMatch(/ NO \[EXPUNGEISSUED\] Some of the requested messages no longer exist$/);
    expect(await a.run('NOOP')).toContain('* 1 EXPUNGE');
  });
});

describe('a streamed body expunged by another session', () => {
  it('answers the bodies still there and NO [EXPUNGEISSUED] for one reclaimed before the FETCH, and keeps the connection', async () => {
    const a = await firstOfTwoReclaimedBehindItsBack();
    const r = await a.run('FETCH 1:2 (BODY.PEEK[])');
    expect(r.some((l) => /^\* 1 FETCH .*BODY\[\]/.test(l))).toBe(false); // (its \Deleted flag may be told)
    expect(r.some((l) => /^\* 2 FETCH .*BODY\[\]/.test(l))).toBe(true);
    expect(r.pop()).toMatch(/ NO \[EXPUNGEISSUED\]/);
    expect(await a.run('NOOP')).toContain('* 1 EXPUNGE');
  });

  it('streams the whole literal when the expunge comes while it is being sent', async () => {
    h = await imapHarness();
    const big = 'x'.repeat(76) + '\r\n';
    const raw = message('Subject: big', big.repeat(160_000)); // 12.8 MB: more than the read-ahead holds
    await h.store.deliver(['alice'], raw);
    const b = await imapSession(h.port);
    await b.run('SELECT INBOX');
    const a = net.connect(h.port, '127.0.0.1');
    let got = Buffer.alloc(0);
    a.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    const until = async (re: RegExp) => {
      for (let i = 0; i < 500 && !re.test(got.toString('latin1')); i++) await new Promise((r) => setTimeout(r, 10));
      expect(got.toString('latin1')).toMatch(re);
    };
    await until(/^\* OK/);
    a.write('a LOGIN alice secret\r\nb SELECT INBOX\r\n');
    await until(/b OK/);
    got = Buffer.alloc(0);
    a.pause(); // the server fills the socket's buffers and waits, half-way through the body
    a.write('c FETCH 1 (BODY.PEEK[])\r\n');
    await new Promise((r) => setTimeout(r, 200));
    await b.run('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await b.run('EXPUNGE');
    await new Promise((r) => setTimeout(r, 300)); // time enough to reclaim an unheld body
    a.resume();
    await until(/c OK FETCH completed\r\n$/);
    const text = got.toString('latin1');
    expect(text).toContain(`BODY[] {${raw.length}}\r\n`);
    expect(got.includes(raw)).toBe(true);
    a.destroy();
  });
});
