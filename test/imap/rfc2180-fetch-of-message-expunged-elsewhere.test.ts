// RFC 2180 4.1.2 with RFC 3501 7.4.1: a FETCH by sequence number that names a message another session
// expunged (and whose bytes are gone) answers the other messages, then a tagged NO [EXPUNGEISSUED]
// in Dovecot's words; no EXPUNGE is sent during the FETCH — the client hears of it afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import type { MailStoreAdmin } from '../../storage/index.ts';
import { closeHarnesses, imapHarness, imapSession, message } from '../helpers/imap-session.ts';
import type { Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(closeHarnesses);

describe('RFC 2180 4.1.2 FETCH of a message expunged by another session', () => {
  it('answers the rest, then NO [EXPUNGEISSUED], and tells of the EXPUNGE only after', async () => {
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
    const r = await a.run('FETCH 1:2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    expect(r.some((l) => / EXPUNGE$/.test(l))).toBe(false);
    expect(r.some((l) => l.startsWith('* 2 FETCH'))).toBe(true);
    expect(r.pop()).toMatch(/ NO \[EXPUNGEISSUED\] Some of the requested messages no longer exist$/);
    expect(await a.run('NOOP')).toContain('* 1 EXPUNGE');
  });
});
