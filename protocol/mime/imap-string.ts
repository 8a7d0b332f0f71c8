// IMAP string syntax (RFC 3501 4.3): a quoted string when the value allows it, otherwise a literal.
// Values are latin1 strings holding the original bytes, so 8-bit header bytes go out unchanged.

export function imapString(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (s.length <= 1024 && !/[\x00\r\n\x80-\xff]/.test(s)) return `"${s.replace(/[\\"]/g, '\\$&')}"`;
  return `{${Buffer.byteLength(s, 'latin1')}}\r\n${s}`;
}

export const nstring = (s: string | undefined | null): string => (s === undefined || s === null ? 'NIL' : imapString(s));

/** A parenthesised list of strings, or NIL when empty. */
export function stringList(items: readonly string[]): string {
  return items.length ? `(${items.map(imapString).join(' ')})` : 'NIL';
}
