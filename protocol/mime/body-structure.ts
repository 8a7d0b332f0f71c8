// FETCH BODY and BODYSTRUCTURE (RFC 3501 7.4.2, RFC 9051 7.5.2) from the stored structure.
import type { Params } from './content-type.ts';
import { formatEnvelopeFields } from './envelope.ts';
import { imapString, nstring } from './imap-string.ts';
import type { MessageSummary, MimePart } from './structure.ts';

function paramList(params: Params): string {
  if (params.length === 0) return 'NIL';
  return `(${params.map(([k, v]) => `${imapString(k)} ${imapString(v)}`).join(' ')})`;
}

function disposition(p: MimePart): string {
  return p.disposition ? `(${imapString(p.disposition[0])} ${paramList(p.disposition[1])})` : 'NIL';
}

function language(p: MimePart): string {
  if (p.language === undefined) return 'NIL';
  const tags = p.language.split(',').map((s) => s.trim()).filter(Boolean);
  if (tags.length === 0) return 'NIL';
  return tags.length === 1 ? imapString(tags[0]!) : `(${tags.map(imapString).join(' ')})`;
}

export function formatPart(p: MimePart, extensible: boolean): string {
  if (p.parts) {
    let out = `(${p.parts.map((c) => formatPart(c, extensible)).join('')} ${imapString(p.subtype)}`;
    if (extensible) out += ` ${paramList(p.params)} ${disposition(p)} ${language(p)} ${nstring(p.location)}`;
    return out + ')';
  }
  const fields = [
    imapString(p.type), imapString(p.subtype), paramList(p.params), nstring(p.id), nstring(p.description),
    imapString(p.encoding ?? '7bit'), String(p.e - p.b),
  ];
  if (p.message) fields.push(formatEnvelopeFields(p.message.envelope), formatPart(p.message.root, extensible), String(p.lines ?? 0));
  else if (p.lines !== undefined) fields.push(String(p.lines));
  if (extensible) fields.push(nstring(p.md5), disposition(p), language(p), nstring(p.location));
  return `(${fields.join(' ')})`;
}

export function formatBodyStructure(summary: MessageSummary, extensible: boolean): string {
  return formatPart(summary.root, extensible);
}
