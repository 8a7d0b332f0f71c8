// RFC 3501 2.3.2: \Recent — a message is recent in exactly one session, the first to see it with
// the mailbox selected read-write; EXAMINE and STATUS show the count without taking it; SEARCH
// RECENT/NEW/OLD follow it; an IMAP4rev2 session never sees it (RFC 9051).
import { afterEach, describe, expect, it } from 'vitest';
import { closeHarnesses, imapHarness, imapSession, message } from '../helpers/imap-session.ts';
import type { Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(closeHarnesses);

const deliver = (subject: string) => h!.store.deliver(['alice'], message(`Subject: ${subject}`));

describe('RFC 3501 2.3.2 \\Recent', () => {
  it('is counted by EXAMINE and STATUS without being taken, then taken by the first SELECT', async () => {
    h = await imapHarness();
    await deliver('one');
    await deliver('two');
    const a = await imapSession(h.port);
    expect(await a.run('EXAMINE INBOX')).toContain('* 2 RECENT');
    expect(await a.run('FETCH 1 FLAGS')).toContain('* 1 FETCH (FLAGS (\\Recent))');
    expect(await a.run('STATUS Trash (RECENT)')).toContain('* STATUS "Trash" (RECENT 0)');
    await a.run('CLOSE');
    expect(await a.run('STATUS INBOX (MESSAGES RECENT UNSEEN)')).toContain('* STATUS "INBOX" (MESSAGES 2 RECENT 2 UNSEEN 2)');
    expect(await a.run('SELECT INBOX')).toContain('* 2 RECENT');
    expect(await a.run('SEARCH RECENT')).toContain('* SEARCH 1 2');
    // taken: the next session to select sees none, and STATUS counts none
    const b = await imapSession(h.port);
    expect(await b.run('STATUS INBOX (RECENT)')).toContain('* STATUS "INBOX" (RECENT 0)');
    expect(await b.run('SELECT INBOX')).toContain('* 0 RECENT');
    expect(await b.run('FETCH 1:2 FLAGS')).toEqual(['* 1 FETCH (FLAGS ())', '* 2 FETCH (FLAGS ())', expect.stringMatching(/ OK /)]);
    expect(await b.run('SEARCH OLD')).toContain('* SEARCH 1 2');
  });

  it('gives a new arrival to one selected session only, with EXISTS and RECENT', async () => {
    h = await imapHarness();
    const a = await imapSession(h.port);
    const b = await imapSession(h.port);
    await a.run('SELECT INBOX');
    await b.run('SELECT INBOX');
    await deliver('new');
    expect(await a.run('NOOP')).toEqual(['* 1 EXISTS', '* 1 RECENT', expect.stringMatching(/ OK /)]);
    expect(await b.run('NOOP')).toEqual(['* 1 EXISTS', '* 0 RECENT', expect.stringMatching(/ OK /)]);
    expect(await a.run('FETCH 1 FLAGS')).toContain('* 1 FETCH (FLAGS (\\Recent))');
    expect(await b.run('FETCH 1 FLAGS')).toContain('* 1 FETCH (FLAGS ())');
    // NEW is RECENT and UNSEEN
    expect(await a.run('SEARCH NEW')).toContain('* SEARCH 1');
    await a.run('STORE 1 +FLAGS (\\Seen)');
    expect(await a.run('SEARCH NEW')).toContain('* SEARCH');
  });

  it('marks copies recent in the session that has the target selected', async () => {
    h = await imapHarness();
    await deliver('one');
    const a = await imapSession(h.port);
    const b = await imapSession(h.port);
    await a.run('SELECT INBOX');
    await b.run('SELECT Archive');
    await a.run('STORE 1 +FLAGS (\\Seen)');
    await a.run('COPY 1 Archive');
    expect(await b.run('NOOP')).toEqual(['* 1 EXISTS', '* 1 RECENT', expect.stringMatching(/ OK /)]);
    expect(await b.run('FETCH 1 FLAGS')).toContain('* 1 FETCH (FLAGS (\\Recent \\Seen))');
  });

  it('is never shown to an IMAP4rev2 session', async () => {
    h = await imapHarness();
    await deliver('one');
    const a = await imapSession(h.port);
    await a.run('ENABLE IMAP4rev2');
    const sel = await a.run('SELECT INBOX');
    expect(sel.some((l) => / RECENT$/.test(l))).toBe(false);
    expect(await a.run('FETCH 1 FLAGS')).toContain('* 1 FETCH (FLAGS ())');
  });
});
