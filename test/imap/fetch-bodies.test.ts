// FETCH of many bodies at once: every literal byte-exact, whatever the mix of sizes (bodies are read
// ahead in groups and large ones in segments), and a store failure answered with NO before any line.
import { afterEach, describe, expect, it } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { analyzeMessage } from '../../protocol/mime/index.ts';
import { LineClient } from '../helpers/line-client.ts';
import { startHarness, switchableStore, type Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function message(i: number, size: number): Buffer {
  const head = Buffer.from(`Subject: m${i}\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const body = Buffer.alloc(Math.max(0, size - head.length));
  for (let j = 0; j < body.length; j++) body[j] = 32 + ((i * 31 + j * 7) % 90);
  return Buffer.concat([head, body]);
}

/** The literals of every untagged FETCH answer up to the tagged line, and that line. */
async function fetchLiterals(c: LineClient, tag: string, command: string): Promise<{ literals: Buffer[]; tagged: string }> {
  c.send(`${tag} ${command}`);
  const literals: Buffer[] = [];
  for (;;) {
    const line = await c.line(20_000);
    if (line === undefined) throw new Error('connection closed');
    if (line.startsWith(`${tag} `)) return { literals, tagged: line };
    const m = /\{(\d+)\}$/.exec(line);
    if (m) literals.push(Buffer.from(await c.bytes(Number(m[1]), 20_000)));
  }
}

async function login(port: number): Promise<LineClient> {
  const c = await LineClient.connect(port);
  await c.line();
  expect(await c.command('a LOGIN alice secret')).toMatch(/^a OK/);
  return c;
}

describe('FETCH of many bodies', () => {
  it('returns every body byte-exact across a mix of small and multi-megabyte messages, whole and partial', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    const sizes = [900, 40_000, 1_200_000, 3_000, 2_400_000, 70_000, 1_048_576, 500, 300_000, 1_048_577];
    for (let r = 0; r < 3; r++) sizes.push(...sizes.slice(0, 10).map((s) => s + r));
    const raws = sizes.map((s, i) => message(i, s));
    for (const raw of raws) await h.store.append('alice', 'INBOX', raw);
    const c = await login(h.port);
    c.send('s SELECT INBOX');
    await c.until((l) => l.startsWith('s OK'));
    const whole = await fetchLiterals(c, 'f1', 'FETCH 1:* (BODY.PEEK[])');
    expect(whole.tagged).toMatch(/^f1 OK/);
    expect(whole.literals.length).toBe(raws.length);
    whole.literals.forEach((got, i) => expect(got.equals(raws[i]!), `message ${i + 1}`).toBe(true));
    // partial ranges that straddle 1 MiB (a read-ahead segment edge) and the store's chunk edges
    const part = await fetchLiterals(c, 'f2', 'FETCH 5 (BODY.PEEK[]<1048000.2000> BODY.PEEK[]<262000.600000>)');
    expect(part.tagged).toMatch(/^f2 OK/);
    expect(part.literals[0]!.equals(raws[4]!.subarray(1_048_000, 1_050_000))).toBe(true);
    expect(part.literals[1]!.equals(raws[4]!.subarray(262_000, 862_000))).toBe(true);
    c.close();
  });

  it('answers NO [UNAVAILABLE] before any FETCH line when the store cannot read the bodies', async () => {
    let sw!: ReturnType<typeof switchableStore>;
    h = await startHarness(handleImapConnection, { wrapStore: (s) => (sw = switchableStore(s)).store, analyzer: analyzeMessage });
    for (let i = 0; i < 5; i++) await h.store.append('alice', 'INBOX', message(i, 2000));
    const c = await login(h.port);
    c.send('s EXAMINE INBOX');
    await c.until((l) => l.startsWith('s OK'));
    sw.failing.add('readBodies');
    c.send('f1 FETCH 1:* (BODY.PEEK[])');
    expect(await c.until((l) => l.startsWith('f1 '))).toEqual(['f1 NO [UNAVAILABLE] mailbox temporarily unavailable, try again later']);
    sw.failing.clear();
    const again = await fetchLiterals(c, 'f2', 'FETCH 1:* (BODY.PEEK[])');
    expect(again.tagged).toMatch(/^f2 OK/);
    expect(again.literals.length).toBe(5);
    c.close();
  });
});
