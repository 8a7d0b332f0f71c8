// SEARCH HEADER/BODY/TEXT (RFC 3501 6.4.4): case-insensitive substring match on decoded content —
// RFC 2047 words in headers, base64/quoted-printable and charsets in text parts. FROM/TO/CC/BCC
// match the addresses as parsed (display name and mailbox@host, comments and routes dropped), so
// "user@domain" finds `<user (comment)@ domain>` and "Real" finds `user@domain (Real Name)`, as
// Dovecot does.
import iconv from 'iconv-lite';
import libmime from 'libmime';
import libqp from 'libqp';
import { parseAddressList, type ImapAddress } from './address-list.ts';
import { param } from './content-type.ts';
import { parseHeader } from './headers.ts';
import type { MessageSummary, MimePart } from './structure.ts';

export type TextKey =
  | { kind: 'header'; field: string; value: string }
  | { kind: 'address'; field: string; value: string }
  | { kind: 'body' | 'text'; value: string };

const fold = (s: string): string => s.toLowerCase();

/** RFC 2047 encoded words of a header value (latin1 bytes as read) decoded to text. */
export function decodeHeaderWords(value: string): string {
  // Most values are plain ASCII without encoded words: nothing to decode (SORT reads 100k of them).
  // eslint-disable-next-line no-control-regex
  if (!value.includes('=?') && !/[^\x00-\x7f]/.test(value)) return value;
  try {
    return libmime.decodeWords(Buffer.from(value, 'latin1').toString('utf8'));
  } catch {
    return value;
  }
}

function decodeBody(raw: Buffer, p: MimePart): string {
  const bytes = raw.subarray(p.b, p.e);
  const enc = (p.encoding ?? '').toLowerCase();
  let data: Buffer = bytes;
  if (enc === 'base64') data = Buffer.from(bytes.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  else if (enc === 'quoted-printable') data = libqp.decode(bytes.toString('latin1'));
  const charset = (param(p.params, 'charset') ?? 'utf-8').toLowerCase();
  if (charset === 'utf-8' || charset === 'us-ascii' || !iconv.encodingExists(charset)) return data.toString('utf8');
  return iconv.decode(data, charset);
}

function textParts(p: MimePart, out: MimePart[]): MimePart[] {
  if (p.parts) for (const c of p.parts) textParts(c, out);
  else if (p.message) textParts(p.message.root, out);
  else if (p.type.toLowerCase() === 'text') out.push(p);
  return out;
}

function headerMatches(raw: Buffer, summary: MessageSummary, name: string | undefined, needle: string): boolean {
  const h = parseHeader(raw, summary.root.h, summary.root.b);
  for (const f of h.fields) {
    if (name !== undefined && f.name !== name) continue;
    if (needle === '') return true;
    if (fold(decodeHeaderWords(f.value)).includes(needle)) return true;
  }
  return false;
}

const addressText = (a: ImapAddress): string =>
  `${a.name ? decodeHeaderWords(a.name) + ' ' : ''}<${a.mailbox ?? ''}${a.host ? '@' + a.host : ''}>`;

/** An address header as searched: `name <mailbox@host>, …`, groups as `group: members;`. */
function addressListText(value: string): string {
  return parseAddressList(value)
    .map((it) => ('group' in it ? `${decodeHeaderWords(it.group)}: ${it.members.map(addressText).join(', ')};` : addressText(it)))
    .join(', ');
}

function addressMatches(raw: Buffer, summary: MessageSummary, name: string, needle: string): boolean {
  const h = parseHeader(raw, summary.root.h, summary.root.b);
  for (const f of h.fields) {
    if (f.name !== name) continue;
    if (needle === '' || fold(addressListText(f.value)).includes(needle)) return true;
  }
  return false;
}

function bodyMatches(raw: Buffer, summary: MessageSummary, needle: string): boolean {
  return textParts(summary.root, []).some((p) => fold(decodeBody(raw, p)).includes(needle));
}

export function searchText(raw: Buffer, summary: MessageSummary, key: TextKey): boolean {
  const needle = fold(key.value);
  switch (key.kind) {
    case 'header':
      return headerMatches(raw, summary, key.field.toLowerCase(), needle);
    case 'address':
      return addressMatches(raw, summary, key.field, needle);
    case 'body':
      return bodyMatches(raw, summary, needle);
    case 'text':
      return headerMatches(raw, summary, undefined, needle) || bodyMatches(raw, summary, needle);
  }
}
