// Invariants 1, 2 and 9 for IMAP, on the wire: failures answer NO [UNAVAILABLE] before any untagged
// line and change nothing; EXPUNGE never arrives while FETCH/STORE/SEARCH by sequence number are
// answered; bad input gets BAD and the server lives on.
import { afterEach, describe, expect, it } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { analyzeMessage } from '../../protocol/mime/index.ts';
import { OverloadedError, type Governor } from '../../protocol/session-context.ts';
import { PartialMoveError, StoreUnavailableError } from '../../storage/index.ts';
import type { MailStore } from '../../storage/types.ts';
import { LineClient } from '../helpers/line-client.ts';
import { admitAll, startHarness, switchableStore, type Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function login(port: number): Promise<LineClient> {
  const c = await LineClient.connect(port);
  expect(await c.line()).toMatch(/^\* OK /);
  expect(await c.command('a LOGIN alice secret')).toMatch(/^a OK/);
  return c;
}

/** Sends a tagged command; returns its untagged lines and the tagged completion. */
async function cmd(c: LineClient, tag: string, text: string): Promise<string[]> {
  c.send(`${tag} ${text}`);
  return c.until((l) => l.startsWith(`${tag} `));
}

describe('IMAP under failure', () => {
  it('answers SELECT with NO [UNAVAILABLE] and no untagged line when the store fails; UIDVALIDITY is unchanged later', async () => {
    let sw!: ReturnType<typeof switchableStore>;
    h = await startHarness(handleImapConnection, { wrapStore: (s) => (sw = switchableStore(s)).store, analyzer: analyzeMessage });
    await h.store.deliver(['alice'], Buffer.from('Subject: x\r\n\r\nx\r\n'));
    const c = await login(h.port);
    const first = await cmd(c, 's1', 'SELECT INBOX');
    const validity = first.find((l) => l.includes('UIDVALIDITY'));
    expect(validity).toBeDefined();
    sw.failing.add('snapshot');
    expect(await cmd(c, 's2', 'SELECT INBOX')).toEqual(['s2 NO [UNAVAILABLE] mailbox temporarily unavailable, try again later']);
    // RFC 3501: a failed SELECT leaves no mailbox selected
    expect((await cmd(c, 's3', 'FETCH 1 FLAGS'))[0]).toMatch(/^s3 BAD/);
    sw.failing.clear();
    const again = await cmd(c, 's4', 'SELECT INBOX');
    expect(again.find((l) => l.includes('UIDVALIDITY'))).toBe(validity);
    c.close();
  });

  it('tells the client which messages a MOVE moved before the store failed: COPYUID, their EXPUNGEs, then NO', async () => {
    // A store whose move gets through the first two messages and then fails (as a sliced mass move can).
    const partialMove = (inner: MailStore): MailStore => new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop !== 'move') return Reflect.get(target, prop, receiver);
        return async (user: string, from: string, uids: readonly number[], to: string) => {
          const done = await target.move(user, from, uids.slice(0, 2), to);
          throw new PartialMoveError(new StoreUnavailableError('disk full'), done);
        };
      },
    });
    h = await startHarness(handleImapConnection, { wrapStore: partialMove, analyzer: analyzeMessage });
    for (const n of [1, 2, 3, 4]) await h.store.deliver(['alice'], Buffer.from(`Subject: m${n}\r\n\r\nx\r\n`));
    const c = await login(h.port);
    await cmd(c, 's', 'SELECT INBOX');
    const trashValidity = (await h.store.snapshot('alice', 'Trash')).mailbox.uidValidity;
    expect(await cmd(c, 'm', 'UID MOVE 1:4 Trash')).toEqual([
      `* OK [COPYUID ${trashValidity} 1:2 1:2] moved`,
      '* 1 EXPUNGE',
      '* 1 EXPUNGE',
      'm NO [UNAVAILABLE] mailbox temporarily unavailable, try again later',
    ]);
    expect((await cmd(c, 'f', 'UID FETCH 1:* (UID)')).slice(0, 2)).toEqual(['* 1 FETCH (UID 3)', '* 2 FETCH (UID 4)']);
    c.close();
  });

  it('answers a shed command with NO [UNAVAILABLE] and refuses a session at the door with BYE [UNAVAILABLE]', async () => {
    let shed = false;
    let door = false;
    const governor: Governor = {
      admitSession: (p, a) => (door ? { refused: true, kind: 'busy', text: 'busy, try later' } : admitAll.admitSession(p, a)),
      admitLogin: admitAll.admitLogin,
      loginWork: admitAll.loginWork,
      turn: admitAll.turn,
      heavy: (p, u, c, w) => (shed ? Promise.reject(new OverloadedError('deadline')) : admitAll.heavy(p, u, c, w)),
    };
    h = await startHarness(handleImapConnection, { governor, analyzer: analyzeMessage });
    const c = await login(h.port);
    shed = true;
    expect(await cmd(c, 'x', 'SELECT INBOX')).toEqual(['x NO [UNAVAILABLE] server busy, try again later']);
    shed = false;
    expect((await cmd(c, 'y', 'SELECT INBOX')).pop()).toMatch(/^y OK \[READ-WRITE\]/);
    door = true;
    const d = await LineClient.connect(h.port);
    expect(await d.line()).toBe('* BYE [UNAVAILABLE] busy, try later');
    await d.ended();
    c.close();
  });
});

describe('IMAP untagged updates', () => {
  it('holds back another session\'s EXPUNGE during FETCH and sends it at NOOP', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    for (let i = 1; i <= 3; i++) await h.store.deliver(['alice'], Buffer.from(`Subject: m${i}\r\n\r\nbody\r\n`));
    const a = await login(h.port);
    await cmd(a, 's', 'SELECT INBOX');
    const b = await login(h.port);
    await cmd(b, 's', 'SELECT INBOX');
    await cmd(b, 't', 'STORE 2 +FLAGS.SILENT (\\Deleted)');
    expect((await cmd(b, 'e', 'EXPUNGE'))).toEqual(['* 2 EXPUNGE', 'e OK EXPUNGE completed']);
    const fetched = await cmd(a, 'f', 'FETCH 1:3 (UID)');
    expect(fetched.filter((l) => l.includes('EXPUNGE'))).toEqual([]);
    expect(fetched).toContain('* 3 FETCH (UID 3)');
    const noop = await cmd(a, 'n', 'NOOP');
    expect(noop).toContain('* 2 EXPUNGE');
    expect(await cmd(a, 'u', 'UID SEARCH ALL')).toContain('* SEARCH 1 3');
    a.close();
    b.close();
  });

  it('tells other sessions about new mail and flag changes', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    await h.store.deliver(['alice'], Buffer.from('Subject: one\r\n\r\nbody\r\n'));
    const a = await login(h.port);
    await cmd(a, 's', 'SELECT INBOX');
    const b = await login(h.port);
    await cmd(b, 's', 'SELECT INBOX');
    await cmd(b, 't', 'STORE 1 +FLAGS (\\Flagged)');
    await h.store.deliver(['alice'], Buffer.from('Subject: two\r\n\r\nbody\r\n'));
    const noop = await cmd(a, 'n', 'NOOP');
    // a selected first, so message 1 is \Recent there (RFC 3501 2.3.2)
    expect(noop).toContain('* 1 FETCH (UID 1 FLAGS (\\Recent \\Flagged))');
    expect(noop).toContain('* 2 EXISTS');
    a.close();
    b.close();
  });
});

describe('IMAP literals', () => {
  it('sends 8-bit header bytes as literals whose length is the byte count', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    await h.store.deliver(['alice'], Buffer.from('Subject: Grüße aus Köln\r\nFrom: a@b.c\r\n\r\nx\r\n', 'utf8'));
    const c = await login(h.port);
    await cmd(c, 's', 'SELECT INBOX');
    const lines = await cmd(c, 'f', 'FETCH 1 (ENVELOPE)');
    const size = Number(/\{(\d+)\}$/.exec(lines[0]!)![1]);
    expect(size).toBe(Buffer.byteLength('Grüße aus Köln'));
    expect(Buffer.from(lines[1]!.slice(0, size), 'latin1').toString('utf8')).toBe('Grüße aus Köln');
    c.close();
  });
});

describe('IMAP bad input', () => {
  it('answers garbage with BAD, survives binary bytes, and closes after too many errors', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    const c = await LineClient.connect(h.port);
    await c.line();
    expect(await c.command('a1 FROBNICATE')).toMatch(/^a1 BAD/);
    expect(await c.command('a2 SELECT INBOX')).toMatch(/^a2 BAD .*log in first/);
    expect(await c.command('a3 LOGIN alice')).toMatch(/^a3 BAD/);
    c.write(Buffer.from([0x00, 0xff, 0x28, 0x22, 0x0d, 0x0a]));
    expect(await c.line()).toMatch(/BAD/);
    expect(await c.command('a5 LOGIN alice wrong')).toMatch(/^a5 NO \[AUTHENTICATIONFAILED\]/);
    expect(await c.command('a6 LOGIN alice secret')).toMatch(/^a6 OK/);
    expect(await c.command('a7 FETCH 1 FLAGS')).toMatch(/^a7 BAD .*select a mailbox first/);
    for (let i = 0; i < 20; i++) c.send(`z${i} BOGUS`);
    await c.ended();
  });

  it('answers a line over the limit once, however long, and closes (as Dovecot)', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    const c = await LineClient.connect(h.port);
    await c.line();
    c.write(Buffer.from(`a4 NOOP ${'x'.repeat(10 * 1024 * 1024)}\r\na5 NOOP\r\n`));
    expect(await c.line()).toMatch(/^a4 BAD \[TOOBIG\] line too long/);
    expect(await c.line()).toMatch(/^\* BYE/);
    await c.ended();
  });

  it('answers SEARCH criteria nested beyond reason with BAD (the stack overflowed: NO [SERVERBUG])', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    const c = await login(h.port);
    await cmd(c, 's', 'SELECT INBOX');
    expect((await cmd(c, 'a', `SEARCH ${'NOT '.repeat(16_000)}ALL`)).at(-1)).toMatch(/^a BAD .*nested/);
    expect((await cmd(c, 'b', `SEARCH ${'OR ALL '.repeat(9_000)}ALL`)).at(-1)).toMatch(/^b BAD .*nested/);
    expect((await cmd(c, 'c', `SEARCH ${'('.repeat(20_000)}ALL${')'.repeat(20_000)}`)).at(-1)).toMatch(/^c BAD .*nested/);
    expect((await cmd(c, 'd', `SEARCH ${'NOT '.repeat(50)}ALL`)).at(-1)).toMatch(/^d OK/);
    c.close();
  });

  it('refuses an APPEND literal over the size limit before reading it', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    const c = await login(h.port);
    expect(await c.command('p APPEND INBOX {999999999}')).toMatch(/^p NO \[TOOBIG\]/);
    expect(await c.command('q NOOP')).toBe('q OK NOOP completed');
    c.close();
  });
});
