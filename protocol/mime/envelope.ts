// FETCH ENVELOPE (RFC 3501 7.4.2). Header values go out as they were in the message: encoded words
// stay encoded, as Dovecot and most servers do; clients decode them.
import { parseAddressList, type ImapAddress } from './address-list.ts';
import { nstring } from './imap-string.ts';
import type { EnvelopeFields, MessageSummary } from './structure.ts';

const address = (a: ImapAddress): string => `(${nstring(a.name)} ${nstring(a.adl ?? null)} ${nstring(a.mailbox)} ${nstring(a.host)})`;

function addressList(value: string | undefined): string {
  if (value === undefined) return 'NIL';
  const items = parseAddressList(value);
  if (items.length === 0) return 'NIL';
  let out = '';
  for (const it of items) {
    if ('group' in it) out += `(NIL NIL ${nstring(it.group)} NIL)${it.members.map(address).join('')}(NIL NIL NIL NIL)`;
    else out += address(it);
  }
  return `(${out})`;
}

export function formatEnvelopeFields(e: EnvelopeFields): string {
  const from = addressList(e.from);
  const sender = e.sender !== undefined ? addressList(e.sender) : from;
  const replyTo = e.replyTo !== undefined ? addressList(e.replyTo) : from;
  return `(${[
    nstring(e.date), nstring(e.subject), from, sender === 'NIL' ? from : sender, replyTo === 'NIL' ? from : replyTo,
    addressList(e.to), addressList(e.cc), addressList(e.bcc), nstring(e.inReplyTo), nstring(e.messageId),
  ].join(' ')})`;
}

export function formatEnvelope(summary: MessageSummary): string {
  return formatEnvelopeFields(summary.envelope);
}
