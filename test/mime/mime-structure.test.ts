// ENVELOPE, BODYSTRUCTURE and BODY[section] byte ranges from the structure stored at delivery.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  analyzeMessage, filterHeaderFields, formatBodyStructure, formatEnvelope, resolveSection, searchText, type SectionSpec,
} from '../../protocol/mime/index.ts';

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'latin1');

const SIMPLE = crlf(`From: Alice <alice@example.com>
To: bob@example.com, "Carol, C." <carol@example.org>
Subject: =?UTF-8?B?SGVsbG8gd29ybGQ=?=
Date: Mon, 7 Feb 1994 21:52:25 -0800
Message-ID: <1@x>

Hello
World
`);

const NESTED = crlf(`From: a@b.c
Subject: nested
Content-Type: multipart/mixed; boundary="XX"

preamble
--XX
Content-Type: text/plain; charset=utf-8

body1
--XX
Content-Type: message/rfc822
Content-Disposition: attachment; filename="fwd.eml"

Subject: inner
From: Inner <in@ner.org>

inner body
--XX
Content-Type: multipart/alternative; boundary=YY

--YY
Content-Type: text/plain
Content-Transfer-Encoding: quoted-printable

caf=C3=A9 au lait
--YY
Content-Type: text/html

<p>x</p>
--YY--
--XX--
epilogue
`);

const slice = (raw: Buffer, spec: SectionSpec) => {
  const r = resolveSection(analyzeMessage(raw), spec);
  const bytes = raw.subarray(r.start, r.end);
  return (r.filter ? filterHeaderFields(bytes, r.filter) : bytes).toString('latin1');
};

describe('MIME analysis', () => {
  it('formats the ENVELOPE of a simple message, defaulting Sender and Reply-To to From', () => {
    expect(formatEnvelope(analyzeMessage(SIMPLE))).toBe(
      '("Mon, 7 Feb 1994 21:52:25 -0800" "=?UTF-8?B?SGVsbG8gd29ybGQ=?=" (("Alice" NIL "alice" "example.com")) ' +
        '(("Alice" NIL "alice" "example.com")) (("Alice" NIL "alice" "example.com")) ' +
        '((NIL NIL "bob" "example.com")("Carol, C." NIL "carol" "example.org")) NIL NIL NIL "<1@x>")',
    );
  });

  it('formats BODY and BODYSTRUCTURE of a single text part', () => {
    const s = analyzeMessage(SIMPLE);
    expect(formatBodyStructure(s, false)).toBe('("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 14 2)');
    expect(formatBodyStructure(s, true)).toBe('("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 14 2 NIL NIL NIL NIL)');
  });

  it('formats nested multiparts and message/rfc822 parts', () => {
    const bs = formatBodyStructure(analyzeMessage(NESTED), true);
    expect(bs).toBe(
      '(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)' +
        '("message" "rfc822" NIL NIL NIL "7bit" 54 (NIL "inner" (("Inner" NIL "in" "ner.org")) (("Inner" NIL "in" "ner.org")) (("Inner" NIL "in" "ner.org")) NIL NIL NIL NIL NIL) ' +
        '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) 4 NIL ("attachment" ("filename" "fwd.eml")) NIL NIL)' +
        '(("text" "plain" NIL NIL NIL "quoted-printable" 17 1 NIL NIL NIL NIL)("text" "html" NIL NIL NIL "7bit" 8 1 NIL NIL NIL NIL) "alternative" ("boundary" "YY") NIL NIL NIL)' +
        ' "mixed" ("boundary" "XX") NIL NIL NIL)',
    );
  });

  it('resolves sections to the bytes RFC 3501 names', () => {
    expect(slice(NESTED, { part: [1], kind: 'all' })).toBe('body1');
    expect(slice(NESTED, { part: [1], kind: 'mime' })).toBe('Content-Type: text/plain; charset=utf-8\r\n\r\n');
    expect(slice(NESTED, { part: [2, 1], kind: 'all' })).toBe('inner body');
    expect(slice(NESTED, { part: [2], kind: 'header' })).toBe('Subject: inner\r\nFrom: Inner <in@ner.org>\r\n\r\n');
    expect(slice(NESTED, { part: [2], kind: 'text' })).toBe('inner body');
    expect(slice(NESTED, { part: [3, 2], kind: 'all' })).toBe('<p>x</p>');
    expect(slice(NESTED, { part: [9], kind: 'all' })).toBe('');
    expect(slice(SIMPLE, { part: [1], kind: 'all' })).toBe('Hello\r\nWorld\r\n');
    expect(slice(SIMPLE, { part: [], kind: 'header.fields', fields: ['subject', 'MESSAGE-ID'] })).toBe(
      'Subject: =?UTF-8?B?SGVsbG8gd29ybGQ=?=\r\nMessage-ID: <1@x>\r\n\r\n',
    );
    expect(slice(SIMPLE, { part: [], kind: 'header.fields.not', fields: ['from', 'to', 'date', 'subject'] })).toBe('Message-ID: <1@x>\r\n\r\n');
  });

  it('searches decoded headers and bodies', () => {
    const s = analyzeMessage(SIMPLE);
    expect(searchText(SIMPLE, s, { kind: 'header', field: 'Subject', value: 'hello WORLD' })).toBe(true);
    expect(searchText(SIMPLE, s, { kind: 'header', field: 'Cc', value: '' })).toBe(false);
    expect(searchText(SIMPLE, s, { kind: 'body', value: 'world' })).toBe(true);
    const n = analyzeMessage(NESTED);
    expect(searchText(NESTED, n, { kind: 'body', value: 'café' })).toBe(true);
    expect(searchText(NESTED, n, { kind: 'text', value: 'nested' })).toBe(true);
    expect(searchText(NESTED, n, { kind: 'body', value: 'nowhere' })).toBe(false);
  });

  it('answers something valid for malformed MIME', () => {
    const broken = crlf('Content-Type: multipart/mixed\n\nno boundary at all\n');
    expect(formatBodyStructure(analyzeMessage(broken), true)).toBe('("application" "octet-stream" NIL NIL NIL "7bit" 20 NIL NIL NIL NIL)');
    const unterminated = crlf('Content-Type: multipart/mixed; boundary=B\n\n--B\n\nonly part, never closed\n');
    expect(formatBodyStructure(analyzeMessage(unterminated), false)).toBe('(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 25 1) "mixed")');
  });

  it('never throws on random bytes and always yields a balanced structure', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const raw = Buffer.from(bytes);
        const bs = formatBodyStructure(JSON.parse(JSON.stringify(analyzeMessage(raw))), true);
        let depth = 0;
        let inQuote = false;
        for (let i = 0; i < bs.length; i++) {
          const c = bs[i];
          if (inQuote) {
            if (c === '\\') i++;
            else if (c === '"') inQuote = false;
          } else if (c === '"') inQuote = true;
          else if (c === '{') {
            const close = bs.indexOf('}', i);
            i = close + 2 + Number(bs.slice(i + 1, close));
          } else if (c === '(') depth++;
          else if (c === ')') depth--;
          if (depth < 0) return false;
        }
        return depth === 0 && !inQuote;
      }),
      { numRuns: 300 },
    );
  });
});

describe('MIME structure limits', () => {
  it('caps the parts of a message with 200,000 siblings and keeps every byte in the last one', () => {
    const n = 200_000;
    const part = '--b\r\nContent-Type: text/plain\r\n\r\nx\r\n';
    const raw = Buffer.from(`Content-Type: multipart/mixed; boundary="b"\r\n\r\n${part.repeat(n)}--b--\r\n`);
    const summary = analyzeMessage(raw);
    const parts = summary.root.parts!;
    expect(parts.length).toBeLessThanOrEqual(2000);
    expect(parts.at(-1)!.e).toBe(raw.length);
    const bs = formatBodyStructure(summary, true);
    // 15 MB before
    expect(bs.length).toBeLessThan(400_000);
  });
});
