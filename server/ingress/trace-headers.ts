// What a final-delivery MTA adds on top of a message (RFC 5321 4.4): Return-Path, Delivered-To
// when there is a single recipient, and a Received line. The result is CRLF throughout, so the
// sizes POP3 and IMAP report are the bytes that are stored.
export interface DeliveryTrace {
  mailFrom: string;
  rcptTo?: string;
  heloName?: string;
  remoteAddress?: string;
  protocol: string;
  id: string;
}

export function toCrlf(raw: Buffer): Buffer {
  let bare = false;
  for (let i = raw.indexOf(0x0a); i >= 0; i = raw.indexOf(0x0a, i + 1)) {
    if (i === 0 || raw[i - 1] !== 0x0d) {
      bare = true;
      break;
    }
  }
  if (!bare) return raw;
  return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

const clean = (s: string | undefined): string => (s ?? '').replace(/[\r\n<>]/g, '');

export function finalDeliveryMessage(body: Buffer, t: DeliveryTrace): Buffer {
  const lines = [`Return-Path: <${clean(t.mailFrom)}>`];
  if (t.rcptTo) lines.push(`Delivered-To: ${clean(t.rcptTo)}`);
  lines.push(
    `Received: from ${clean(t.heloName) || 'unknown'} (${clean(t.remoteAddress) || 'unknown'})\r\n` +
      `\tby tegami with ${t.protocol} id ${clean(t.id)};\r\n\t${new Date().toUTCString().replace('GMT', '+0000')}`,
  );
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n'), toCrlf(body)]);
}
