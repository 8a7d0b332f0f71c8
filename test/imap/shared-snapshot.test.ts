// Sessions that open the same version of a mailbox share its snapshot (and the FETCH answers cached
// on it) until something changes; then each view must show exactly what it was told, no stale line.
import { afterEach, describe, expect, it } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { analyzeMessage } from '../../protocol/mime/index.ts';
import { LineClient } from '../helpers/line-client.ts';
import { startHarness, type Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function session(port: number): Promise<LineClient> {
  const c = await LineClient.connect(port);
  await c.line();
  expect(await c.command('a LOGIN alice secret')).toMatch(/^a OK/);
  c.send('s SELECT INBOX');
  await c.until((l) => l.startsWith('s OK'));
  return c;
}

async function cmd(c: LineClient, tag: string, text: string): Promise<string[]> {
  c.send(`${tag} ${text}`);
  return c.until((l) => l.startsWith(`${tag} `));
}

/** "seq:uid:flags" for each untagged FETCH line, other untagged lines as they are. */
const fetched = (lines: string[]) =>
  lines.filter((l) => l.startsWith('* ')).map((l) => l.replace(/^\* (\d+) FETCH \(UID (\d+) FLAGS \((.*)\)\)$/, '$1:$2:$3'));

describe('shared snapshots', () => {
  it('keeps every session\'s whole-mailbox FETCH true after flag changes, expunges and new mail', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    for (let i = 0; i < 3; i++) await h.store.deliver(['alice'], Buffer.from(`Subject: ${i}\r\n\r\nbody ${i}\r\n`));
    // Seen by an earlier session: no longer \Recent, so every session shares one rendering.
    await h.store.snapshot('alice', 'INBOX', { claimRecent: true });
    const a = await session(h.port);
    const b = await session(h.port);
    expect(fetched(await cmd(b, 'f0', 'UID FETCH 1:* (UID FLAGS)'))).toEqual(['1:1:', '2:2:', '3:3:']);

    await cmd(a, 'st', 'STORE 2 +FLAGS.SILENT (\\Flagged)');
    expect(fetched(await cmd(a, 'f1', 'UID FETCH 1:* (UID FLAGS)'))).toEqual(['1:1:', '2:2:\\Flagged', '3:3:']);
    // b answers from the view it had, then is told about the change (the last word for message 2)
    expect(fetched(await cmd(b, 'f2', 'UID FETCH 1:* (UID FLAGS)'))).toEqual(['1:1:', '2:2:', '3:3:', '2:2:\\Flagged']);
    expect(fetched(await cmd(b, 'f3', 'UID FETCH 1:* (UID FLAGS)'))).toEqual(['1:1:', '2:2:\\Flagged', '3:3:']);

    await cmd(a, 'd', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
    await cmd(a, 'x', 'EXPUNGE');
    await h.store.deliver(['alice'], Buffer.from('Subject: new\r\n\r\nnew\r\n'));
    // the new message is \Recent in a, the first session that had the mailbox selected (RFC 3501 2.3.2)
    expect(fetched(await cmd(b, 'n', 'NOOP'))).toEqual(['1:1:\\Deleted', '* 1 EXPUNGE', '* 3 EXISTS', '* 0 RECENT']);
    expect(fetched(await cmd(b, 'f4', 'UID FETCH 1:* (UID FLAGS)'))).toEqual(['1:2:\\Flagged', '2:3:', '3:4:']);
    const c = await session(h.port);
    expect(fetched(await cmd(c, 'f5', 'UID FETCH 1:* (UID FLAGS)'))).toEqual(['1:2:\\Flagged', '2:3:', '3:4:']);
    await cmd(a, 'n', 'NOOP');
    expect(fetched(await cmd(a, 'f6', 'UID FETCH 1:* (UID FLAGS)'))).toEqual(['1:2:\\Flagged', '2:3:', '3:4:\\Recent']);
    for (const s of [a, b, c]) s.close();
  });

  it('tells another session about an expunge done in several slices, numbered as the client counts', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    await h.store.importMessages('alice', 'INBOX', Array.from({ length: 600 }, (_, i) => ({ raw: Buffer.from(`Subject: ${i}\r\n\r\nx\r\n`) })));
    const a = await session(h.port);
    const b = await session(h.port);
    // every even UID goes: 300 messages, more than one slice of the store's mass deletion
    const evens = Array.from({ length: 300 }, (_, i) => 2 * (i + 1));
    await cmd(a, 'e', `UID STORE ${evens.join(',')} +FLAGS.SILENT (\\Deleted)`);
    expect((await cmd(a, 'x', 'EXPUNGE')).filter((l) => l.endsWith(' EXPUNGE')).length).toBe(300);
    const told = (await cmd(b, 'n', 'NOOP')).filter((l) => l.endsWith(' EXPUNGE'));
    // removing message 2, then 3 (once 4), then 4 (once 6)…: the k-th line names k + 1
    expect(told).toEqual(Array.from({ length: 300 }, (_, k) => `* ${k + 2} EXPUNGE`));
    const uids = (await cmd(b, 'f', 'UID FETCH 1:* (UID)')).filter((l) => l.startsWith('* ')).map((l) => Number(/UID (\d+)/.exec(l)![1]));
    expect(uids).toEqual(Array.from({ length: 300 }, (_, i) => 2 * i + 1));
    a.close();
    b.close();
  });
});
