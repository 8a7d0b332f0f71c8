// RFC 3501 6.4.4 SEARCH: FROM/TO/CC/BCC match a substring of the address or of the display name;
// SENTBEFORE/SENTON/SENTSINCE compare the day of the Date: header in its own time zone, and
// BEFORE/ON/SINCE the day of INTERNALDATE, the time of day ignored.
import { afterEach, describe, expect, it } from 'vitest';
import { sentDay } from '../../protocol/imap/search/search-keys.ts';
import { closeHarnesses, imapHarness, imapSession, message } from '../helpers/imap-session.ts';
import type { Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(closeHarnesses);

describe('RFC 3501 6.4.4 address keys', () => {
  it('match the address and the display name as parsed, not the header text', async () => {
    h = await imapHarness();
    for (const from of [
      'user-from@domain.org',
      'RealFrom <user-from@domain.org>',
      '<user-from (comment)@ (comment) domain.org>',
      'user-from@domain.org (RealFrom)',
      '=?UTF-8?Q?Caf=C3=A9?= <cafe@domain.org>',
    ]) await h.store.append('alice', 'INBOX', message(`From: ${from}\nTo: team: a@x.org, b@x.org;`));
    const a = await imapSession(h.port);
    await a.run('SELECT INBOX');
    expect(await a.run('SEARCH FROM user-from@domain.org')).toContain('* SEARCH 1 2 3 4');
    expect(await a.run('SEARCH FROM ealfro')).toContain('* SEARCH 2 4');
    expect(await a.run('SEARCH FROM café')).toContain('* SEARCH 5');
    expect(await a.run('SEARCH TO team')).toContain('* SEARCH 1 2 3 4 5');
    expect(await a.run('SEARCH TO b@x')).toContain('* SEARCH 1 2 3 4 5');
    expect(await a.run('SEARCH FROM comment')).toContain('* SEARCH');
  });
});

describe('RFC 3501 6.4.4 date keys', () => {
  it('take the Date: header\'s own calendar day', () => {
    expect(sentDay('Sun, 25 Mar 2007 00:00:00 +0200')).toBe(Date.UTC(2007, 2, 25));
    expect(sentDay('Sat, 24 Mar 2007 23:00:00 -0500')).toBe(Date.UTC(2007, 2, 24));
    expect(sentDay('1 Jan 99 10:00 GMT')).toBe(Date.UTC(1999, 0, 1));
    expect(sentDay('garbage')).toBeUndefined();
  });

  it('SENTON/SENTBEFORE/SENTSINCE ignore time of day and zone shifts', async () => {
    h = await imapHarness();
    for (const d of ['Sat, 24 Mar 2007 23:00:00 +0200', 'Sun, 25 Mar 2007 00:00:00 +0200', 'Sun, 25 Mar 2007 23:00:00 +0300', 'Mon, 26 Mar 2007 00:00:00 +0300']) {
      await h.store.append('alice', 'INBOX', message(`Date: ${d}\nSubject: x`));
    }
    const a = await imapSession(h.port);
    await a.run('SELECT INBOX');
    expect(await a.run('SEARCH SENTON 25-Mar-2007')).toContain('* SEARCH 2 3');
    expect(await a.run('SEARCH SENTBEFORE 25-Mar-2007')).toContain('* SEARCH 1');
    expect(await a.run('SEARCH SENTSINCE 26-Mar-2007')).toContain('* SEARCH 4');
    expect(await a.run('SEARCH NOT SENTON 25-Mar-2007')).toContain('* SEARCH 1 4');
  });

  it('ON/BEFORE/SINCE compare the day of INTERNALDATE', async () => {
    h = await imapHarness();
    const a = await imapSession(h.port);
    await a.run('APPEND INBOX "24-Mar-2007 23:59:59 +0000" {8}\r\nS: x\r\n\r\n');
    await a.run('APPEND INBOX "25-Mar-2007 00:00:00 +0000" {8}\r\nS: y\r\n\r\n');
    await a.run('SELECT INBOX');
    expect(await a.run('SEARCH ON 25-Mar-2007')).toContain('* SEARCH 2');
    expect(await a.run('SEARCH BEFORE 25-Mar-2007')).toContain('* SEARCH 1');
    expect(await a.run('SEARCH SINCE 24-Mar-2007')).toContain('* SEARCH 1 2');
  });
});
