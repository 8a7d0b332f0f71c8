// Mailbox names on the wire: modified UTF-7 (RFC 3501 5.1.3) for IMAP4rev1 clients, plain UTF-8
// once a client has enabled IMAP4rev2 (RFC 9051 5.1: no modified UTF-7, "&" is just a character).
// The store keeps Unicode either way, so one mailbox has both spellings.
import { imapString } from '../mime/imap-string.ts';

export function encodeMailboxName(name: string): string {
  let out = '';
  let pending = '';
  const flush = () => {
    if (!pending) return;
    const b64 = Buffer.from(pending, 'utf16le').swap16().toString('base64').replace(/=+$/, '').replace(/\//g, ',');
    out += `&${b64}-`;
    pending = '';
  };
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c <= 0x7e) {
      flush();
      out += ch === '&' ? '&-' : ch;
    } else pending += ch;
  }
  flush();
  return out;
}

export function decodeMailboxName(wire: string): string {
  return wire.replace(/&([^-]*)-/g, (_m, b64: string) => {
    if (b64 === '') return '&';
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2) return _m;
    return Buffer.from(bytes).swap16().toString('utf16le');
  });
}

/**
 * The name (or LIST pattern) a client sent → the store's Unicode name. `text` is the argument as
 * read: modified UTF-7 in rev1, already-decoded UTF-8 in rev2.
 */
export const mailboxFromWire = (text: string, utf8: boolean): string => (utf8 ? text : decodeMailboxName(text));

/**
 * A mailbox name as an IMAP string, in the session's latin1 wire form (one char per byte). UTF-8
 * names stay quoted where they can: RFC 9051's quoted strings may carry UTF-8.
 */
export function mailboxToWire(name: string, utf8: boolean): string {
  if (!utf8) return imapString(encodeMailboxName(name));
  const bytes = Buffer.from(name, 'utf8').toString('latin1');
  // eslint-disable-next-line no-control-regex
  if (bytes.length <= 1024 && !/[\x00\r\n]/.test(bytes)) return `"${bytes.replace(/[\\"]/g, '\\$&')}"`;
  return `{${bytes.length}}\r\n${bytes}`;
}
