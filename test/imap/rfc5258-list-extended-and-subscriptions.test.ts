// RFC 5258 LIST-EXTENDED and RFC 3501 6.3.6/6.3.9 subscriptions: a name stays subscribed when its
// mailbox goes (and may be subscribed before it exists), LIST (SUBSCRIBED) shows such names as
// \NonExistent, RECURSIVEMATCH tells of subscribed descendants in CHILDINFO only when the pattern
// does not list them itself, and LSUB shows an unsubscribed parent that "%" matches as \Noselect.
import { afterEach, describe, expect, it } from 'vitest';
import { closeHarnesses, imapHarness, imapSession, type ImapTestSession } from '../helpers/imap-session.ts';
import type { Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(closeHarnesses);

const untagged = (lines: string[]) => lines.filter((l) => l.startsWith('* '));

async function tree(a: ImapTestSession): Promise<void> {
  for (const n of ['t/a', 't/b/c', 't/d/d', 't/e/e', 't/e/f', 't/gone']) expect(await a.status(`CREATE ${n}`)).toMatch(/ OK /);
  for (const n of ['t/a', 't/b/c', 't/d/d', 't/e/e', 't/e/f', 't/gone']) expect(await a.status(`SUBSCRIBE ${n}`)).toMatch(/ OK /);
  expect(await a.status('DELETE t/gone')).toMatch(/ OK /);
}

describe('RFC 5258 LIST-EXTENDED', () => {
  it('refuses RECURSIVEMATCH without a selection option it could modify (BAD)', async () => {
    h = await imapHarness();
    const a = await imapSession(h.port);
    expect(await a.status('LIST (RECURSIVEMATCH) "" "*"')).toMatch(/ BAD /);
    expect(await a.status('LIST (RECURSIVEMATCH REMOTE) "" "*"')).toMatch(/ BAD /);
    expect(await a.status('LIST (IMAPTEST) "" "*"')).toMatch(/ BAD /);
    expect(await a.status('LIST "" "*" RETURN (IMAPTEST)')).toMatch(/ BAD /);
    expect(await a.status('LIST (REMOTE) "" "%"')).toMatch(/ OK /);
  });

  it('lists subscribed names whose mailbox is gone as \\NonExistent', async () => {
    h = await imapHarness();
    const a = await imapSession(h.port);
    await tree(a);
    expect(untagged(await a.run('LIST (SUBSCRIBED) "" "t/*"'))).toEqual([
      '* LIST (\\HasNoChildren \\Subscribed) "/" "t/a"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "t/b/c"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "t/d/d"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "t/e/e"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "t/e/f"',
      '* LIST (\\NonExistent \\Subscribed) "/" "t/gone"',
    ]);
  });

  it('gives CHILDINFO to a parent only for subscribed descendants the pattern does not list', async () => {
    h = await imapHarness();
    const a = await imapSession(h.port);
    await tree(a);
    expect(untagged(await a.run('LIST (SUBSCRIBED RECURSIVEMATCH) "" "t/%" RETURN (CHILDREN)'))).toEqual([
      '* LIST (\\HasNoChildren \\Subscribed) "/" "t/a"',
      '* LIST (\\HasChildren) "/" "t/b" ("CHILDINFO" ("SUBSCRIBED"))',
      '* LIST (\\HasChildren) "/" "t/d" ("CHILDINFO" ("SUBSCRIBED"))',
      '* LIST (\\HasChildren) "/" "t/e" ("CHILDINFO" ("SUBSCRIBED"))',
      '* LIST (\\NonExistent \\Subscribed) "/" "t/gone"',
    ]);
    // these patterns list t/d/d themselves: t/d gets no CHILDINFO; they list t/e/e but not t/e/f: t/e does
    expect(untagged(await a.run('LIST (SUBSCRIBED RECURSIVEMATCH) "" ("t/d" "t/d/d")'))).toEqual(['* LIST (\\HasNoChildren \\Subscribed) "/" "t/d/d"']);
    expect(untagged(await a.run('LIST (SUBSCRIBED RECURSIVEMATCH) "" ("t/e" "t/e/e")'))).toEqual([
      '* LIST (\\HasChildren) "/" "t/e" ("CHILDINFO" ("SUBSCRIBED"))',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "t/e/e"',
    ]);
  });

  it('returns \\Subscribed only when asked, without changing the selection', async () => {
    h = await imapHarness();
    const a = await imapSession(h.port);
    await tree(a);
    const lines = untagged(await a.run('LIST "" "t/%" RETURN (CHILDREN SUBSCRIBED)'));
    expect(lines).toContain('* LIST (\\HasNoChildren \\Subscribed) "/" "t/a"');
    expect(lines).toContain('* LIST (\\HasChildren) "/" "t/b"');
    expect(lines.some((l) => l.includes('t/gone'))).toBe(false);
  });
});

describe('RFC 3501 subscriptions', () => {
  it('keeps a name subscribed after DELETE and accepts one that does not exist (6.3.6)', async () => {
    h = await imapHarness();
    const a = await imapSession(h.port);
    expect(await a.status('SUBSCRIBE later')).toMatch(/ OK /);
    expect(untagged(await a.run('LSUB "" "later"'))).toEqual(['* LSUB () "/" "later"']);
    expect(await a.status('CREATE later')).toMatch(/ OK /);
    expect(untagged(await a.run('LIST "" "later" RETURN (SUBSCRIBED)'))).toEqual(['* LIST (\\HasNoChildren \\Subscribed) "/" "later"']);
    expect(await a.status('UNSUBSCRIBE later')).toMatch(/ OK /);
    expect(untagged(await a.run('LSUB "" "later"'))).toEqual([]);
  });

  it('shows a parent that "%" matches, not subscribed itself, as \\Noselect in LSUB (6.3.9)', async () => {
    h = await imapHarness();
    const a = await imapSession(h.port);
    await tree(a);
    expect(untagged(await a.run('LSUB "" "t/%"'))).toEqual([
      '* LSUB () "/" "t/a"',
      '* LSUB (\\Noselect) "/" "t/b"',
      '* LSUB (\\Noselect) "/" "t/d"',
      '* LSUB (\\Noselect) "/" "t/e"',
      '* LSUB () "/" "t/gone"',
    ]);
    expect(untagged(await a.run('LSUB "" "t/b/*"'))).toEqual(['* LSUB () "/" "t/b/c"']);
  });

  it('does not subscribe a mailbox the client creates', async () => {
    h = await imapHarness();
    const a = await imapSession(h.port);
    await a.run('CREATE fresh');
    expect(untagged(await a.run('LSUB "" "fresh"'))).toEqual([]);
  });
});
