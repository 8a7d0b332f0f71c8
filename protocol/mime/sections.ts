// BODY[section] (RFC 3501 6.4.5): which bytes of the stored message a section names. The answer is a
// byte range, streamed by the caller; HEADER.FIELDS(.NOT) additionally filters the header's fields.
import type { MessageSummary, MimePart } from './structure.ts';

export interface SectionSpec {
  part: number[];
  kind: 'all' | 'header' | 'text' | 'mime' | 'header.fields' | 'header.fields.not';
  fields?: string[];
}

export interface SectionRange {
  start: number;
  end: number;
  /** For HEADER.FIELDS(.NOT): keep (or drop) these fields of the header in [start, end). */
  filter?: { fields: string[]; not: boolean };
}

const EMPTY: SectionRange = { start: 0, end: 0 };

function navigate(summary: MessageSummary, path: readonly number[]): MimePart | undefined {
  let node: MimePart | undefined;
  for (const n of path) {
    const container: MimePart = node === undefined ? summary.root : node.message ? node.message.root : node;
    const messageRoot = node === undefined || node.message !== undefined;
    if (container.parts) node = container.parts[n - 1];
    else if (messageRoot && n === 1) node = container;
    else return undefined;
    if (!node) return undefined;
  }
  return node;
}

export interface PartRange {
  start: number;
  end: number;
  /** The part's Content-Transfer-Encoding, as written in its header (absent: identity). */
  encoding?: string;
}

/**
 * BINARY[part] (RFC 3516): the body bytes of a part with the encoding they are in, so the caller can
 * decode them. The empty part is the whole message, as is (encoding undefined). undefined when the
 * part does not exist.
 */
export function resolvePart(summary: MessageSummary, part: readonly number[]): PartRange | undefined {
  if (part.length === 0) return { start: summary.root.h, end: summary.root.e };
  const node = navigate(summary, part);
  return node && { start: node.b, end: node.e, encoding: node.encoding };
}

export function resolveSection(summary: MessageSummary, section: SectionSpec): SectionRange {
  const fields = section.fields?.length ? { fields: section.fields, not: section.kind === 'header.fields.not' } : undefined;
  let msg: MimePart;
  if (section.part.length === 0) {
    msg = summary.root;
  } else {
    const node = navigate(summary, section.part);
    if (!node) return EMPTY;
    if (section.kind === 'all') return { start: node.b, end: node.e };
    if (section.kind === 'mime') return { start: node.h, end: node.b };
    // HEADER, TEXT and HEADER.FIELDS of a part exist only for an encapsulated message.
    if (!node.message) return EMPTY;
    msg = node.message.root;
  }
  switch (section.kind) {
    case 'all':
      return { start: msg.h, end: msg.e };
    case 'mime':
      return EMPTY;
    case 'text':
      return { start: msg.b, end: msg.e };
    case 'header':
      return { start: msg.h, end: msg.b };
    default:
      return { start: msg.h, end: msg.b, filter: fields ?? { fields: [], not: section.kind === 'header.fields.not' } };
  }
}

/** The header fields (folded lines kept as they were) that pass the filter, then the blank line. */
export function filterHeaderFields(header: Buffer, filter: { fields: string[]; not: boolean }): Buffer {
  const wanted = new Set(filter.fields.map((f) => f.toLowerCase()));
  const text = header.toString('latin1');
  const lines = text.split(/(?<=\n)/);
  let out = '';
  let keep = false;
  for (const line of lines) {
    if (line === '\r\n' || line === '\n') break;
    if (line[0] === ' ' || line[0] === '\t') {
      if (keep) out += line;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
    keep = name !== '' && wanted.has(name) !== filter.not;
    if (keep) out += line.endsWith('\n') ? line.replace(/\r?\n$/, '\r\n') : line + '\r\n';
  }
  return Buffer.from(out + '\r\n', 'latin1');
}
