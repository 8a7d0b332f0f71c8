// CONDSTORE/QRESYNC (RFC 7162): a client that remembers UIDVALIDITY and HIGHESTMODSEQ learns what
// changed and what vanished without fetching the whole mailbox again.
import { afterEach, describe, expect, it } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { analyzeMessage } from '../../protocol/mime/index.ts';
import { LineClient } from '../helpers/line-client.ts';
import { startHarness, type Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
});

async function session(port: number): Promise<(tag: string, text: string) => Promise<string[]>> {
  const c = await LineClient.connect(port);
  await c.line();
  const cmd = async (tag: string, text: string) => {
    c.send(`${tag} ${text}`);
    return c.until((l) => l.startsWith(`${tag} `));
  };
  await cmd('l', 'LOGIN alice secret');
  return cmd;
}

describe('QRESYNC', () => {
  it('reports VANISHED instead of EXPUNGE, and resynchronises a re-SELECT and a UID FETCH', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    for (let i = 1; i <= 4; i++) await h.store.deliver(['alice'], Buffer.from(`Subject: m${i}\r\n\r\nbody\r\n`));
    const a = await session(h.port);
    expect(await a('e', 'ENABLE QRESYNC')).toContain('* ENABLED QRESYNC');
    const sel = await a('s', 'SELECT INBOX');
    const validity = /UIDVALIDITY (\d+)/.exec(sel.join(' '))![1];
    const modseq = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.join(' '))![1]);

    const b = await session(h.port);
    await b('s', 'SELECT INBOX');
    await b('f', 'UID STORE 1 +FLAGS (\\Flagged)');
    await b('d', 'UID STORE 2:3 +FLAGS (\\Deleted)');
    await b('x', 'EXPUNGE');

    const noop = await a('n', 'NOOP');
    expect(noop).toContain('* VANISHED 2:3');
    expect(noop.some((l) => l.includes('EXPUNGE'))).toBe(false);

    await a('u', 'UNSELECT');
    const again = await a('r', `SELECT INBOX (QRESYNC (${validity} ${modseq} 1:4))`);
    expect(again).toContain('* VANISHED (EARLIER) 2:3');
    expect(again.some((l) => /^\* 1 FETCH \(UID 1 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$/.test(l))).toBe(true);

    const fetched = await a('v', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq} VANISHED)`);
    expect(fetched[0]).toBe('* VANISHED (EARLIER) 2:3');
    expect(fetched.filter((l) => /^\* \d+ FETCH/.test(l)).length).toBe(1);
  });

  it('answers a QRESYNC SELECT with a stale UIDVALIDITY like a plain SELECT', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    await h.store.deliver(['alice'], Buffer.from('Subject: m\r\n\r\nbody\r\n'));
    const a = await session(h.port);
    await a('e', 'ENABLE QRESYNC');
    const sel = await a('s', 'SELECT INBOX (QRESYNC (1 1))');
    expect(sel.some((l) => l.includes('VANISHED'))).toBe(false);
    expect(sel.pop()).toMatch(/^s OK \[READ-WRITE\]/);
  });

  it('reports every absent UID when the client resyncs from before the expunge-log horizon', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage, expungeLogKeep: 2 });
    for (let i = 1; i <= 8; i++) await h.store.deliver(['alice'], Buffer.from(`Subject: m${i}\r\n\r\nbody\r\n`));
    const a = await session(h.port);
    await a('e', 'ENABLE QRESYNC');
    const sel = await a('s', 'SELECT INBOX');
    const validity = /UIDVALIDITY (\d+)/.exec(sel.join(' '))![1];
    const modseq = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.join(' '))![1]);
    await a('u', 'UNSELECT');
    // Three separate expunges; the log keeps two, so the first one falls behind the horizon.
    for (const uid of [2, 4, 6]) {
      await h.store.expunge('alice', 'INBOX', [uid]);
    }
    const again = await a('r', `SELECT INBOX (QRESYNC (${validity} ${modseq}))`);
    expect(again).toContain('* VANISHED (EARLIER) 2,4,6');
    const recent = Number(/HIGHESTMODSEQ (\d+)/.exec(again.join(' '))![1]);
    await h.store.expunge('alice', 'INBOX', [8]);
    const fetched = await a('f', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${recent} VANISHED)`);
    expect(fetched).toContain('* VANISHED (EARLIER) 8');
    const old = await a('o', `UID FETCH 1:7 (FLAGS) (CHANGEDSINCE ${modseq} VANISHED)`);
    expect(old).toContain('* VANISHED (EARLIER) 2,4,6');
  });
});
