// A mailbox name on the wire maps to exactly one name in the store, and back: names that are not
// well-formed (lone UTF-16 surrogates, invalid or non-canonical modified UTF-7, invalid UTF-8) are
// refused with NO instead of being folded into U+FFFD, where two acknowledged mailboxes became one.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { decodeMailboxName, encodeMailboxName, MailboxNameError, mailboxFromWire } from '../../protocol/imap/mailbox-name.ts';

import { LineClient } from '../helpers/line-client.ts';
import { startHarness, type Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** What the store keeps: the name as UTF-8 bytes (LevelDB keys), read back. */
const stored = (name: string) => Buffer.from(Buffer.from(name, 'utf8').toString('utf8'), 'utf8').toString('hex');

const decodeOrUndefined = (wire: string): string | undefined => {
  try {
    return decodeMailboxName(wire);
  } catch (err) {
    if (!(err instanceof MailboxNameError)) throw err;
    return undefined;
  }
};

describe('mailbox names', () => {
  it('refuse lone surrogates and other ill-formed spellings on the wire, and keep distinct names distinct', async () => {
    h = await startHarness(handleImapConnection);
    const c = await LineClient.connect(h.port);
    await c.line();
    expect(await c.command('a LOGIN alice secret')).toMatch(/^a OK/);
    expect(await c.command('b CREATE "&2AA-"')).toMatch(/^b NO \[CANNOT\] .*surrogate/);
    expect(await c.command('c CREATE "&2AE-"')).toMatch(/^c NO \[CANNOT\] .*surrogate/);
    expect(await c.command('d CREATE "&AGE-"')).toMatch(/^d NO \[CANNOT\] .*canonical/);
    expect(await c.command('d2 SELECT "&2AA-"')).toMatch(/^d2 NO \[NONEXISTENT\]/);
    expect(await c.command('e CREATE "&2D3cAA-"')).toMatch(/^e OK/); // 𝀀: a surrogate pair is fine
    expect(await c.command('f CREATE "x&APw-"')).toMatch(/^f OK/);
    expect(await c.command('g ENABLE IMAP4rev2')).toMatch(/^\* ENABLED/);
    expect(await c.line()).toMatch(/^g OK/);
    c.write(Buffer.from('h CREATE "bad\xff\xfeutf8"\r\n', 'latin1'));
    expect(await c.line()).toMatch(/^h NO \[CANNOT\] .*UTF-8/);
    c.send('i LIST "" "*"');
    const names = (await c.until((l) => l.startsWith('i '))).filter((l) => l.startsWith('* LIST'));
    expect(names.some((l) => l.endsWith('"x\xc3\xbc"'))).toBe(true); // UTF-8 bytes, read as latin1
    expect(names.some((l) => l.includes('\uFFFD') || l.includes('\xef\xbf\xbd'))).toBe(false);
    c.close();
  });

  it('wire → store is one to one: an accepted spelling is the only spelling of its name', () => {
    const wireChar = fc.constantFrom('&', '-', 'A', 'G', 'E', '2', 'D', 'w', ',', '+', '/', 'a', 'Z', '9', 'x');
    fc.assert(
      fc.property(fc.array(wireChar, { maxLength: 14 }).map((a) => a.join('')), (wire) => {
        const name = decodeOrUndefined(wire);
        if (name === undefined) return;
        expect(encodeMailboxName(name)).toBe(wire);
        expect(Buffer.from(stored(name), 'hex').toString('utf8')).toBe(name);
      }),
      { numRuns: 5000 },
    );
  });

  it('any well-formed name has one wire spelling that decodes back to it, in both protocol revisions', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 12 }).filter((n) => !n.includes('\uFFFD')), (name) => {
        expect(decodeMailboxName(encodeMailboxName(name))).toBe(name);
        expect(mailboxFromWire(name, true)).toBe(name);
      }),
      { numRuns: 2000 },
    );
    for (const lone of ['\uD800', 'a\uDC00b']) expect(() => decodeMailboxName(encodeMailboxName(lone))).toThrow(MailboxNameError);
  });
});
