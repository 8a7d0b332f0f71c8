// RFC 3501 7.2.6: the FLAGS response lists the flags the mailbox knows; a client may not be shown a
// keyword in FETCH FLAGS before an untagged FLAGS (and PERMANENTFLAGS) that contains it — whether
// the keyword came from its own STORE, another session's, or a new message.
import { afterEach, describe, expect, it } from 'vitest';
import { closeHarnesses, imapHarness, imapSession, message } from '../helpers/imap-session.ts';
import type { Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(closeHarnesses);

const FLAGS_WITH = (k: string) => `* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft ${k})`;

describe('RFC 3501 7.2.6 keywords come in FLAGS before FETCH shows them', () => {
  it('announces a keyword of its own STORE before the FETCH that shows it, .SILENT or not', async () => {
    h = await imapHarness();
    await h.store.deliver(['alice'], message('Subject: one'));
    const a = await imapSession(h.port);
    await a.run('SELECT INBOX');
    const r = await a.run('STORE 1 +FLAGS ($hello)');
    expect(r[0]).toBe(FLAGS_WITH('$hello'));
    expect(r[1]).toBe('* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $hello \\*)] flags permitted');
    expect(r[2]).toMatch(/^\* 1 FETCH \(FLAGS \(.*\$hello\)\)$/);
    // known now: the next STORE with it announces nothing
    expect((await a.run('STORE 1 -FLAGS ($hello)'))[0]).toMatch(/^\* 1 FETCH/);
    expect((await a.run('STORE 1 +FLAGS.SILENT ($world)'))[0]).toBe(FLAGS_WITH('$hello $world'));
  });

  it('announces a keyword another session stored before telling of the change', async () => {
    h = await imapHarness();
    await h.store.deliver(['alice'], message('Subject: one'));
    const a = await imapSession(h.port);
    const b = await imapSession(h.port);
    await a.run('SELECT INBOX');
    await b.run('SELECT INBOX');
    await b.run('STORE 1 +FLAGS ($other)');
    const noop = await a.run('NOOP');
    const flags = noop.indexOf(FLAGS_WITH('$other'));
    const fetch = noop.findIndex((l) => l.includes('FETCH') && l.includes('$other'));
    expect(flags).toBeGreaterThanOrEqual(0);
    expect(fetch).toBeGreaterThan(flags);
  });

  it('lists the keywords already in use when the mailbox is selected', async () => {
    h = await imapHarness();
    await h.store.append('alice', 'INBOX', message('Subject: one'), { flags: ['$label1'] });
    const a = await imapSession(h.port);
    expect(await a.run('SELECT INBOX')).toContain(FLAGS_WITH('$label1'));
  });
});
