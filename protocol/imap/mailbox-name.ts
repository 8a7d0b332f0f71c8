// Mailbox names on the wire are modified UTF-7 (RFC 3501 5.1.3); the store keeps Unicode.

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
