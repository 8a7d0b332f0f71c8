// A stored message as a test asserts on it: the store's identity (uid, UIDL, flags) plus what
// mailparser reads from the octets (addresses, dates, headers, text, attachments).
import type { AddressObject } from 'mailparser';
import type { MessageMeta } from '../../storage/types.ts';

export interface ReceivedAttachment {
  filename?: string;
  contentType: string;
  size: number;
  content: Buffer;
}

export interface ReceivedMessage {
  /** The account and mailbox it is in. */
  user: string;
  mailbox: string;
  uid: number;
  /** Its POP3 UIDL. */
  uidl: string;
  flags: readonly string[];
  size: number;
  /** When it was stored (IMAP INTERNALDATE). */
  internalDate: Date;
  subject?: string;
  /** Display text of the From, To and Cc headers ("Ann <ann@example.com>"). */
  from?: string;
  to?: string;
  cc?: string;
  /** Bare addresses from To and Cc, lower case. */
  recipients: string[];
  /** The SMTP/LMTP envelope recipient (RCPT TO, the Delivered-To line) when it had exactly one. */
  envelopeTo?: string;
  /** The Date header. */
  date?: Date;
  messageId?: string;
  /** Every header, by lower-case name, values unfolded, in message order. */
  headers: Record<string, string[]>;
  text?: string;
  html?: string;
  attachments: ReceivedAttachment[];
  /** The stored octets (CRLF line ends). */
  raw: Buffer;
}

const addresses = (a: AddressObject | AddressObject[] | undefined): AddressObject[] => (a === undefined ? [] : Array.isArray(a) ? a : [a]);
const displayText = (a: AddressObject | AddressObject[] | undefined): string | undefined => {
  const list = addresses(a);
  return list.length ? list.map((x) => x.text).join(', ') : undefined;
};

// mailparser (with its HTML and charset libraries) is the largest part of loading tegami: about a
// second on a busy machine. Only a test that reads messages needs it, so it loads on first use.
let parser: Promise<typeof import('mailparser')> | undefined;

export async function toReceivedMessage(user: string, mailbox: string, meta: MessageMeta, raw: Buffer): Promise<ReceivedMessage> {
  const { simpleParser } = await (parser ??= import('mailparser'));
  const parsed = await simpleParser(raw, { skipImageLinks: true });
  const headers: Record<string, string[]> = {};
  for (const { key, line } of parsed.headerLines) {
    const value = line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
    (headers[key] ??= []).push(value);
  }
  const recipients = [...addresses(parsed.to), ...addresses(parsed.cc)].flatMap((a) => a.value.map((v) => v.address?.toLowerCase() ?? '')).filter(Boolean);
  const out: ReceivedMessage = {
    user,
    mailbox,
    uid: meta.uid,
    uidl: meta.uidl,
    flags: meta.flags,
    size: meta.size,
    internalDate: new Date(meta.internalDate),
    recipients,
    headers,
    attachments: parsed.attachments.map((a) => ({ contentType: a.contentType, size: a.size, content: a.content, ...(a.filename ? { filename: a.filename } : {}) })),
    raw,
  };
  const optional = {
    subject: parsed.subject,
    from: displayText(parsed.from),
    to: displayText(parsed.to),
    cc: displayText(parsed.cc),
    envelopeTo: headers['delivered-to']?.[0],
    date: parsed.date,
    messageId: parsed.messageId,
    text: parsed.text,
    html: parsed.html || undefined,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(out, { [k]: v });
  return out;
}
