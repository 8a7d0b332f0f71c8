// RFC 6851 MOVE (with RFC 4315 UIDPLUS): a move within the selected mailbox is a copy and an
// expunge — new UIDs, told as EXPUNGE then EXISTS — and the untagged OK [COPYUID …] carries text
// (resp-text needs some after the code).
import { afterEach, describe, expect, it } from 'vitest';
import { closeHarnesses, imapHarness, imapSession, message } from '../helpers/imap-session.ts';
import type { Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(closeHarnesses);

describe('RFC 6851 MOVE', () => {
  it('moves a message within its own mailbox: COPYUID, EXPUNGE, then EXISTS', async () => {
    h = await imapHarness();
    await h.store.deliver(['alice'], message('Subject: one'));
    const a = await imapSession(h.port);
    const sel = await a.run('SELECT INBOX');
    const validity = sel.find((l) => l.includes('UIDVALIDITY'))!.match(/UIDVALIDITY (\d+)/)![1];
    const r = (await a.run('MOVE 1 INBOX')).filter((l) => !/RECENT$/.test(l));
    expect(r).toEqual([`* OK [COPYUID ${validity} 1 2] moved`, '* 1 EXPUNGE', '* 1 EXISTS', expect.stringMatching(/ OK MOVE completed$/)]);
    expect(await a.run('UID SEARCH ALL')).toContain('* SEARCH 2');
  });
});
