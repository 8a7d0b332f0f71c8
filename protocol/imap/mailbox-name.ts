// Mailbox names on the wire: modified UTF-7 (RFC 3501 5.1.3) for IMAP4rev1 clients, plain UTF-8
// once a client has enabled IMAP4rev2 (RFC 9051 5.1: no modified UTF-7, "&" is just a character).
// The store keeps Unicode either way, so one mailbox has both spellings.
import { imapString } from '../mime/imap-string.ts';

/**
 * A name that is not well-formed: no mailbox can have it. Answered NO, as Dovecot does (a SELECT of
 * it is NONEXISTENT, a CREATE of it CANNOT), and a LIST pattern with it matches nothing.
 */
export class MailboxNameError extends Error {
  override name = 'MailboxNameError';
}

/** A lone UTF-16 surrogate: no character, and UTF-8 storage turns every one into the same U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

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

/**
 * Modified UTF-7 → Unicode, accepting only the one spelling encodeMailboxName gives (RFC 3501
 * 5.1.3: printable ASCII stands for itself, other characters are base64 of well-formed UTF-16).
 * So decoding is injective: `&2AA-` and `&2AE-` (lone surrogates) both became U+FFFD on disk and two
 * acknowledged mailboxes were one after a restart; `&AGE-` would have been another spelling of "a".
 */
export function decodeMailboxName(wire: string): string {
  const name = wire.replace(/&([^-]*)-/g, (_m, b64: string) => {
    if (b64 === '') return '&';
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 || bytes.length === 0) throw new MailboxNameError('mailbox name is not valid modified UTF-7');
    return Buffer.from(bytes).swap16().toString('utf16le');
  });
  if (LONE_SURROGATE.test(name)) throw new MailboxNameError('mailbox name is not well-formed UTF-16 (a lone surrogate)');
  if (encodeMailboxName(name) !== wire) throw new MailboxNameError('mailbox name is not in canonical modified UTF-7');
  return name;
}

/**
 * The name (or LIST pattern) a client sent → the store's Unicode name. `text` is the argument as
 * read: modified UTF-7 in rev1, already-decoded UTF-8 in rev2.
 */
export function mailboxFromWire(text: string, utf8: boolean): string {
  if (!utf8) return decodeMailboxName(text);
  // what invalid UTF-8 decoded to: every bad sequence is the same U+FFFD
  if (text.includes('\uFFFD')) throw new MailboxNameError('mailbox name is not valid UTF-8');
  return text;
}

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
