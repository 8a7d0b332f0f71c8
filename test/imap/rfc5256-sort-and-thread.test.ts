// RFC 5256 SORT and THREAD (with RFC 5957 DISPLAYFROM/DISPLAYTO and RFC 5267 ESORT): base subjects
// per 2.1, sent dates per 2.2 (Date: header, else INTERNALDATE), the first address's mailbox (a
// group's name for a group), ties by mailbox order; ORDEREDSUBJECT and REFERENCES threads in the
// thread-list syntax.
import { afterEach, describe, expect, it } from 'vitest';
import { baseSubject } from '../../protocol/imap/sort/base-subject.ts';
import { closeHarnesses, imapHarness, imapSession, message } from '../helpers/imap-session.ts';
import type { Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(closeHarnesses);

describe('RFC 5256 2.1 base subject', () => {
  it('takes off Re:/Fwd:, [blobs], (fwd) and [fwd: …], and says whether it was a reply', () => {
    expect(baseSubject('Re: hello')).toEqual({ key: 'HELLO', reply: true });
    expect(baseSubject('RE: [list] Fwd:  Re[2]: hello (fwd)')).toEqual({ key: 'HELLO', reply: true });
    expect(baseSubject('[fwd: Re: hello]')).toEqual({ key: 'HELLO', reply: true });
    expect(baseSubject('[list] hello')).toEqual({ key: 'HELLO', reply: false });
    expect(baseSubject('[only a blob]')).toEqual({ key: '[ONLY A BLOB]', reply: false });
    expect(baseSubject('  hello \t world  ')).toEqual({ key: 'HELLO WORLD', reply: false });
    expect(baseSubject('Re:')).toEqual({ key: '', reply: true });
  });
});

async function mailbox(messages: string[]): Promise<Awaited<ReturnType<typeof imapSession>>> {
  h = await imapHarness();
  for (const m of messages) await h.store.append('alice', 'INBOX', message(m), { internalDate: Date.UTC(2020, 0, 1) });
  const a = await imapSession(h.port);
  await a.run('SELECT INBOX');
  return a;
}

describe('RFC 5256 SORT', () => {
  it('sorts by base subject, sent date, addresses and size, REVERSE per key, ties in mailbox order', async () => {
    const a = await mailbox([
      'Subject: Re: beta\nDate: Tue, 2 Jan 2007 10:00:00 +0000\nFrom: Zed <zed@x.org>\nCc: team: m@x.org;',
      'Subject: alpha\nDate: Tue, 2 Jan 2007 11:00:00 +0200\nFrom: amy@x.org\nCc: bob@x.org',
      'Subject: [list] Beta\nFrom: "Bob" <bob@x.org>\nCc: team@x.org',
    ]);
    expect(await a.run('SORT (SUBJECT) UTF-8 ALL')).toContain('* SORT 2 1 3');
    // 2 was sent at 09:00 UTC, 1 at 10:00; 3 has no Date: its INTERNALDATE (2020) counts
    expect(await a.run('SORT (DATE) UTF-8 ALL')).toContain('* SORT 2 1 3');
    expect(await a.run('SORT (REVERSE DATE) UTF-8 ALL')).toContain('* SORT 3 1 2');
    expect(await a.run('SORT (FROM) UTF-8 ALL')).toContain('* SORT 2 3 1');
    expect(await a.run('SORT (DISPLAYFROM) UTF-8 ALL')).toContain('* SORT 2 3 1');
    // a group sorts by its name: "team" after "bob", tied with team@x.org (mailbox order)
    expect(await a.run('SORT (CC) UTF-8 ALL')).toContain('* SORT 2 1 3');
    expect(await a.run('SORT (SUBJECT REVERSE DATE) UTF-8 ALL')).toContain('* SORT 2 3 1');
    // equal keys (one arrival time for all) fall back to mailbox order, REVERSE or not
    expect(await a.run('SORT (REVERSE ARRIVAL) UTF-8 ALL')).toContain('* SORT 1 2 3');
    expect(await a.run('UID SORT (SUBJECT) UTF-8 SUBJECT beta')).toContain('* SORT 1 3');
    expect((await a.run('SORT RETURN (MIN MAX COUNT) (SUBJECT) UTF-8 ALL'))[0]).toMatch(/^\* ESEARCH \(TAG "t\d+"\) MIN 2 MAX 3 COUNT 3$/);
    expect(await a.status('SORT (SUBJECT) KOI8-R ALL')).toMatch(/ NO \[BADCHARSET/);
    expect(await a.status('SORT (REVERSE) UTF-8 ALL')).toMatch(/ BAD /);
  });
});

describe('RFC 5256 THREAD', () => {
  it('ORDEREDSUBJECT: one thread per base subject, the first message the parent of the rest', async () => {
    const a = await mailbox([
      'Subject: one\nDate: Mon, 1 Jan 2007 10:00:00 +0000',
      'Subject: two\nDate: Mon, 1 Jan 2007 11:00:00 +0000',
      'Subject: Re: one\nDate: Mon, 1 Jan 2007 12:00:00 +0000',
      'Subject: Re: two\nDate: Mon, 1 Jan 2007 13:00:00 +0000',
      'Subject: Re: two\nDate: Mon, 1 Jan 2007 14:00:00 +0000',
    ]);
    expect(await a.run('THREAD ORDEREDSUBJECT UTF-8 ALL')).toContain('* THREAD (1 3)(2 (4)(5))');
  });

  it('REFERENCES: links by References, breaks a loop at the newer link, and gathers by subject', async () => {
    const a = await mailbox([
      'Message-ID: <a@x>\nDate: Mon, 1 Jan 2007 17:00:00 +0000\nSubject: a',
      'Message-ID: <b@x>\nReferences: <a@x> <c@x>\nDate: Mon, 1 Jan 2007 15:00:00 +0000\nSubject: b',
      'Message-ID: <c@x>\nReferences: <b@x>\nDate: Mon, 1 Jan 2007 16:00:00 +0000\nSubject: c',
      'Message-ID: <d@x>\nDate: Mon, 1 Jan 2007 18:00:00 +0000\nSubject: topic',
      'Message-ID: <e@x>\nIn-Reply-To: <gone@x>\nDate: Mon, 1 Jan 2007 19:00:00 +0000\nSubject: Re: topic',
      'Message-ID: <f@x>\nReferences: <gone2@x>\nDate: Mon, 1 Jan 2007 20:00:00 +0000\nSubject: other',
      'Message-ID: <g@x>\nReferences: <gone2@x>\nDate: Mon, 1 Jan 2007 21:00:00 +0000\nSubject: Re: other',
    ]);
    // <c> takes <b> as its child and leaves <a>; "Re: topic" joins "topic"; the two children of the
    // missing <gone2> stay together under a dummy (a nested list with no number of its own)
    expect(await a.run('THREAD REFERENCES UTF-8 ALL')).toContain('* THREAD (3 2)(1)(4 5)((6)(7))');
    expect(await a.run('UID THREAD REFERENCES UTF-8 NOT SUBJECT topic')).toContain('* THREAD (3 2)(1)((6)(7))');
  });
});
