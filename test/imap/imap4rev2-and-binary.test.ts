// BINARY (RFC 3516): a part's content comes back decoded, as literal8 when it holds NUL; an encoding
// the server cannot undo is NO [UNKNOWN-CTE]. IMAP4rev2 (RFC 9051) is a mode the client ENABLEs: no
// RECENT, ESEARCH for every SEARCH, UTF-8 mailbox names — and a rev1 client sees none of it.
import { ImapFlow } from 'imapflow';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFetchItems } from '../../protocol/imap/fetch/fetch-items.ts';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { mailboxFromWire, mailboxToWire } from '../../protocol/imap/mailbox-name.ts';
import { ParseError } from '../../protocol/imap/parser/tokens.ts';
import { analyzeMessage, decodeTransferEncoding } from '../../protocol/mime/index.ts';
import { startServer } from '../../server/index.ts';
import { LineClient } from '../helpers/line-client.ts';
import { startHarness, type Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
let closeServer: (() => Promise<void>) | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await closeServer?.();
  closeServer = undefined;
});

type Cmd = (tag: string, text: string) => Promise<string[]>;

async function session(port: number): Promise<Cmd> {
  const c = await LineClient.connect(port);
  await c.line();
  const cmd: Cmd = async (tag, text) => {
    c.send(`${tag} ${text}`);
    return c.until((l) => l.startsWith(`${tag} `));
  };
  expect((await cmd('l', 'LOGIN alice secret')).pop()).toMatch(/^l OK/);
  return cmd;
}

/** The response as the bytes on the wire (lines split at CRLF join back losslessly). */
const wire = (lines: readonly string[]): Buffer => Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');

/** The literal (or literal8) following `label` in a response: its marker and its bytes. */
function literalAfter(lines: readonly string[], label: string): { literal8: boolean; bytes: Buffer } {
  const raw = wire(lines);
  const at = raw.indexOf(`${label} `, 0, 'latin1');
  expect(at, `${label} in ${raw.toString('latin1').slice(0, 200)}`).toBeGreaterThanOrEqual(0);
  const m = /^(~?)\{(\d+)\}\r\n/.exec(raw.subarray(at + label.length + 1, at + label.length + 40).toString('latin1'))!;
  expect(m).not.toBeNull();
  const start = at + label.length + 1 + m[0].length;
  return { literal8: m[1] === '~', bytes: raw.subarray(start, start + Number(m[2])) };
}

// Bytes with a NUL, a CR and an LF in the middle: only an exact decode gives them back.
const ATTACHMENT = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0x01, 0xff, 0x0d, 0x0a, 0x41, 0x42, 0x00, 0x7f, 0x80]);
const base64Lines = (b: Buffer): string => b.toString('base64').replace(/(.{8})/g, '$1\r\n');

const MESSAGE = [
  'From: Bob <bob@example.com>',
  'To: Alice <alice@example.com>',
  'Subject: binary',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Gr=C3=BC=C3=9Fe aus K=C3=B6ln, =',
  'caf=C3=A9 =3D gut',
  '--b1',
  'Content-Type: application/octet-stream; name="blob.bin"',
  'Content-Transfer-Encoding: base64',
  '',
  base64Lines(ATTACHMENT),
  '--b1',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: x-uuencode',
  '',
  'begin 644 x',
  '--b1',
  'Content-Type: text/plain',
  '',
  'plain 7bit text',
  '--b1--',
  '',
].join('\r\n');

async function withMessages(...raws: string[]): Promise<Cmd> {
  h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
  for (const raw of raws) await h.store.deliver(['alice'], Buffer.from(raw, 'utf8'));
  return session(h.port);
}

describe('BINARY and UTF-8 names, the pieces', () => {
  it('parses BINARY items into part numbers, partial ranges and PEEK/SIZE', () => {
    const items = parseFetchItems([{ t: 'list', v: ['BINARY[1.2]<0.10>', 'binary.peek[]', 'BINARY.SIZE[3]'].map((v) => ({ t: 'atom' as const, v })) }]).items;
    expect(items).toEqual([
      { kind: 'binary', label: 'BINARY[1.2]', part: [1, 2], partial: { start: 0, length: 10 }, peek: false, sizeOnly: false },
      { kind: 'binary', label: 'BINARY[]', part: [], partial: undefined, peek: true, sizeOnly: false },
      { kind: 'binary', label: 'BINARY.SIZE[3]', part: [3], partial: undefined, peek: true, sizeOnly: true },
    ]);
    for (const bad of ['BINARY[TEXT]', 'BINARY[1.MIME]', 'BINARY[0]', 'BINARY.SIZE[1]<0.1>']) {
      expect(() => parseFetchItems([{ t: 'atom', v: bad }])).toThrow(ParseError);
    }
  });

  it('decodes the transfer encodings it knows and refuses the rest', () => {
    expect(decodeTransferEncoding(Buffer.from('AAEC\r\n/w==\r\n'), 'BASE64')).toEqual(Buffer.from([0, 1, 2, 0xff]));
    expect(decodeTransferEncoding(Buffer.from('a=3Db=\r\nc  \r\n'), 'quoted-printable')!.toString()).toBe('a=bc\r\n');
    expect(decodeTransferEncoding(Buffer.from([0, 0xff]), ' 8BIT ')).toEqual(Buffer.from([0, 0xff]));
    expect(decodeTransferEncoding(Buffer.from('x'), undefined)).toEqual(Buffer.from('x'));
    expect(decodeTransferEncoding(Buffer.from('x'), 'x-uuencode')).toBeUndefined();
  });

  it('spells a mailbox name in modified UTF-7 for rev1 and UTF-8 for rev2', () => {
    expect(mailboxToWire('Entwürfe', false)).toBe('"Entw&APw-rfe"');
    expect(Buffer.from(mailboxToWire('Entwürfe', true), 'latin1').toString('utf8')).toBe('"Entwürfe"');
    expect(mailboxFromWire('Entw&APw-rfe', false)).toBe('Entwürfe');
    expect(mailboxFromWire('Entw&APw-rfe', true)).toBe('Entw&APw-rfe');
  });
});

describe('BINARY (RFC 3516)', () => {
  it('is advertised beside IMAP4rev2 and STATUS=SIZE', async () => {
    const a = await withMessages();
    const caps = (await a('c', 'CAPABILITY'))[0]!.split(' ');
    expect(caps).toEqual(expect.arrayContaining(['IMAP4rev1', 'IMAP4rev2', 'BINARY', 'STATUS=SIZE']));
  });

  it('returns a base64 attachment as its original bytes, in a literal8 because they hold NUL; BINARY.SIZE agrees', async () => {
    const a = await withMessages(MESSAGE);
    await a('s', 'EXAMINE INBOX');
    const r = await a('f', 'FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])');
    expect(r.pop()).toBe('f OK FETCH completed');
    const lit = literalAfter(r, 'BINARY[2]');
    expect(lit.literal8).toBe(true);
    expect(lit.bytes.equals(ATTACHMENT)).toBe(true);
    expect(wire(r).toString('latin1')).toContain(`BINARY.SIZE[2] ${ATTACHMENT.length}`);
  });

  it('decodes quoted-printable (soft breaks and all) into a normal literal, and serves partial ranges of the decoded bytes', async () => {
    const a = await withMessages(MESSAGE);
    await a('s', 'EXAMINE INBOX');
    const text = 'Grüße aus Köln, café = gut';
    const r = await a('f', 'FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])');
    const lit = literalAfter(r, 'BINARY[1]');
    expect(lit.literal8).toBe(false);
    expect(lit.bytes.toString('utf8')).toBe(text);
    expect(wire(r).toString('latin1')).toContain(`BINARY.SIZE[1] ${Buffer.byteLength(text)}`);

    const part = await a('p', 'FETCH 1 (BINARY.PEEK[2]<5.4>)');
    const slice = literalAfter(part, 'BINARY[2]<5>');
    expect(slice.literal8).toBe(false);
    expect(slice.bytes.equals(ATTACHMENT.subarray(5, 9))).toBe(true);
  });

  it('answers an encoding it cannot undo with NO [UNKNOWN-CTE], and rejects BINARY on HEADER/TEXT', async () => {
    const a = await withMessages(MESSAGE);
    await a('s', 'EXAMINE INBOX');
    expect((await a('u', 'FETCH 1 (BINARY.PEEK[3])')).pop()).toMatch(/^u NO \[UNKNOWN-CTE\]/);
    expect((await a('z', 'FETCH 1 (BINARY.SIZE[3])')).pop()).toMatch(/^z NO \[UNKNOWN-CTE\]/);
    expect((await a('b', 'FETCH 1 (BINARY.PEEK[1.HEADER])')).pop()).toMatch(/^b BAD/);
    expect((await a('t', 'FETCH 1 (BINARY.SIZE[1]<0.5>)')).pop()).toMatch(/^t BAD/);
  });

  it('returns BINARY[] as the whole message unchanged, passes 7bit through, and marks \\Seen unless PEEK', async () => {
    const a = await withMessages(MESSAGE);
    await a('s', 'SELECT INBOX');
    const whole = await a('w', 'FETCH 1 (BINARY.PEEK[] BINARY.SIZE[])');
    expect(literalAfter(whole, 'BINARY[]').bytes.toString('utf8')).toBe(MESSAGE);
    expect(wire(whole).toString('latin1')).toContain(`BINARY.SIZE[] ${Buffer.byteLength(MESSAGE)}`);
    expect(whole.some((l) => l.includes('\\Seen'))).toBe(false);

    const seen = await a('r', 'FETCH 1 (BINARY[4])');
    expect(literalAfter(seen, 'BINARY[4]').bytes.toString()).toBe('plain 7bit text');
    expect(wire(seen).toString('latin1')).toMatch(/FLAGS \(\\Recent \\Seen\)/);
  });
});

describe('IMAP4rev2 (RFC 9051) after ENABLE', () => {
  it('keeps the rev1 forms until enabled: RECENT, * SEARCH, modified UTF-7 names', async () => {
    const a = await withMessages('Subject: one\r\n\r\nx\r\n');
    expect((await a('c', 'CREATE "Entw&APw-rfe"')).pop()).toMatch(/^c OK/);
    const list = await a('l', 'LIST "" "*"');
    expect(list).toContain('* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"');
    const sel = await a('s', 'SELECT INBOX');
    expect(sel).toContain('* 1 RECENT');
    expect(sel.some((l) => l.includes('[CLOSED]'))).toBe(false);
    expect(await a('f', 'SEARCH ALL')).toContain('* SEARCH 1');
  });

  it('answers ENABLE IMAP4rev2, then SELECT without RECENT, SEARCH as ESEARCH and OK [CLOSED] on reselect', async () => {
    const a = await withMessages('Subject: one\r\n\r\nx\r\n', 'Subject: two\r\n\r\ny\r\n');
    expect(await a('e', 'ENABLE IMAP4rev2')).toEqual(['* ENABLED IMAP4rev2', 'e OK ENABLE completed']);
    // a second ENABLE turns nothing on
    expect(await a('e2', 'enable imap4rev2')).toEqual(['* ENABLED', 'e2 OK ENABLE completed']);
    const sel = await a('s', 'SELECT INBOX');
    expect(sel.some((l) => /RECENT|UNSEEN/.test(l))).toBe(false);
    expect(sel).toContain('* LIST () "/" "INBOX"');
    expect(sel).toContain('* 2 EXISTS');
    expect(sel.pop()).toMatch(/^s OK \[READ-WRITE\]/);

    expect(await a('q', 'SEARCH ALL')).toEqual(['* ESEARCH (TAG "q") ALL 1:2', 'q OK SEARCH completed']);
    expect(await a('u', 'UID SEARCH SUBJECT two')).toEqual(['* ESEARCH (TAG "u") UID ALL 2', 'u OK UID SEARCH completed']);
    expect(await a('n', 'SEARCH SUBJECT nothing')).toEqual(['* ESEARCH (TAG "n")', 'n OK SEARCH completed']);
    expect(await a('c', 'SEARCH RETURN (COUNT) ALL')).toEqual(['* ESEARCH (TAG "c") COUNT 2', 'c OK SEARCH completed']);

    const again = await a('x', 'EXAMINE INBOX');
    expect(again[0]).toMatch(/^\* OK \[CLOSED\]/);
    expect(again.filter((l) => l.includes('[CLOSED]')).length).toBe(1);
  });

  it('sends and accepts mailbox names as UTF-8; STATUS reports SIZE and DELETED', async () => {
    const raw = 'Subject: one\r\n\r\nx\r\n';
    const raw2 = 'Subject: two\r\n\r\nyy\r\n';
    const a = await withMessages(raw, raw2);
    await a('e', 'ENABLE IMAP4rev2');
    // commands go out as UTF-8; responses are read one char per byte
    const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
    expect((await a('c', 'CREATE "Entwürfe"')).pop()).toMatch(/^c OK/);
    // "&" is only a character now: this is a different mailbox, not a second spelling of Entwürfe
    expect((await a('d', 'CREATE "Entw&APw-rfe"'))).toEqual(['d OK CREATE completed']);
    const list = await a('l', 'LIST "" "Entw*"');
    expect(list).toContain(utf8('* LIST (\\HasNoChildren) "/" "Entwürfe"'));
    expect(list).toContain('* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"');

    await a('i', 'SELECT INBOX');
    expect((await a('cp', 'COPY 1 "Entwürfe"')).pop()).toMatch(/^cp OK/);
    const st = await a('st', 'STATUS "Entwürfe" (MESSAGES SIZE DELETED)');
    expect(st[0]).toBe(utf8('* STATUS "Entwürfe" (MESSAGES 1 SIZE ') + `${Buffer.byteLength(raw)} DELETED 0)`);
    const sel = await a('s', 'SELECT "Entwürfe"');
    expect(sel).toContain(utf8('* LIST () "/" "Entwürfe"'));
    await a('f', 'STORE 1 +FLAGS (\\Deleted)');
    expect((await a('st2', 'STATUS INBOX (SIZE DELETED)'))[0]).toBe(`* STATUS "INBOX" (SIZE ${Buffer.byteLength(raw) + Buffer.byteLength(raw2)} DELETED 0)`);
    expect((await a('st3', 'STATUS "Entwürfe" (DELETED)'))[0]).toBe(utf8('* STATUS "Entwürfe" (DELETED 1)'));
  });

  it('STATUS=SIZE works without IMAP4rev2 too, with the name in modified UTF-7', async () => {
    const a = await withMessages('Subject: one\r\n\r\nx\r\n');
    await a('c', 'CREATE "Entw&APw-rfe"');
    expect((await a('s', 'STATUS "Entw&APw-rfe" (MESSAGES SIZE)'))[0]).toBe('* STATUS "Entw&APw-rfe" (MESSAGES 0 SIZE 0)');
    expect((await a('l', 'LIST "" "Entw*" RETURN (STATUS (SIZE))'))).toContain('* STATUS "Entw&APw-rfe" (SIZE 0)');
  });
});

describe('imapflow with IMAP4rev2 and BINARY', () => {
  it('enables IMAP4rev2 by itself, lists and opens a UTF-8 folder, and downloads a decoded part', async () => {
    const server = await startServer({ users: { alice: 'secret' } });
    closeServer = () => server.close();
    await server.deliver('alice', MESSAGE);
    const c = new ImapFlow({ host: '127.0.0.1', port: server.ports.imap, secure: false, auth: { user: 'alice', pass: 'secret' }, logger: false });
    await c.connect();
    try {
      expect([...c.enabled].map((e) => e.toUpperCase())).toContain('IMAP4REV2');
      await c.mailboxCreate('Entwürfe');
      expect((await c.list()).map((m) => m.path)).toContain('Entwürfe');
      const lock = await c.getMailboxLock('INBOX');
      try {
        const part = await c.download('1', '2', { binary: true });
        const chunks: Buffer[] = [];
        for await (const ch of part.content!) chunks.push(ch as Buffer);
        expect(Buffer.concat(chunks).equals(ATTACHMENT)).toBe(true);
        expect(await c.search({ subject: 'binary' })).toEqual([1]);
      } finally {
        lock.release();
      }
      expect(await c.status('Entwürfe', { messages: true })).toMatchObject({ messages: 0 });
    } finally {
      await c.logout();
    }
  });
});

describe('APPEND with a literal8', () => {
  it('stores the bytes of a ~{n} literal as they are', async () => {
    h = await startHarness(handleImapConnection, { analyzer: analyzeMessage });
    const c = await LineClient.connect(h.port);
    await c.line();
    await c.command('l LOGIN alice secret');
    const raw = Buffer.concat([Buffer.from('Subject: nul\r\nContent-Transfer-Encoding: binary\r\n\r\n'), Buffer.from([0x61, 0x00, 0x62, 0x0d, 0x0a])]);
    c.write(Buffer.concat([Buffer.from(`p APPEND INBOX ~{${raw.length}+}\r\n`), raw, Buffer.from('\r\n')]));
    expect(await c.line()).toMatch(/^p OK \[APPENDUID \d+ 1\]/);
    c.send('s EXAMINE INBOX');
    await c.until((l) => l.startsWith('s '));
    c.send('f FETCH 1 (BINARY.PEEK[1])');
    const r = await c.until((l) => l.startsWith('f '));
    expect(literalAfter(r, 'BINARY[1]')).toEqual({ literal8: true, bytes: Buffer.from([0x61, 0x00, 0x62, 0x0d, 0x0a]) });
    c.close();
  });
});
