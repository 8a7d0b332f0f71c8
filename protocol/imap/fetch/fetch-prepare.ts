// FETCH, step one: everything about a message that needs the store beyond its bytes — the stored
// structure (ENVELOPE, BODYSTRUCTURE, sections), HEADER.FIELDS, decoded BINARY content — read
// before the batch's first line is written, so a store failure is a NO [UNAVAILABLE], not a
// half-written response.
import { MessageGoneError } from '../../../storage/errors.ts';
import type { MessageMeta } from '../../../storage/types.ts';
import { readAll } from '../../../storage/read-all.ts';
import {
  decodeTransferEncoding, filterHeaderFields, isIdentityEncoding, isKnownEncoding, resolvePart, resolveSection, type MessageSummary,
} from '../../mime/index.ts';
import { ImapError } from '../command.ts';
import type { ImapSession } from '../session.ts';
import type { FetchItem } from './fetch-items.ts';

export const needsSummary = (items: readonly FetchItem[]): boolean =>
  items.some((i) => i.kind === 'ENVELOPE' || i.kind === 'BODY' || i.kind === 'BODYSTRUCTURE' ||
    (i.kind === 'section' && (i.section.part.length > 0 || i.section.kind !== 'all')) ||
    (i.kind === 'binary' && i.part.length > 0));

/** Everything about one message that needs the store, read ahead of writing. */
export interface Prepared {
  seq: number;
  meta: MessageMeta;
  summary?: MessageSummary;
  /** HEADER.FIELDS results by item index. */
  fieldBytes: Map<number, Buffer>;
  /** BINARY results by item index: decoded bytes, or the decoded length for BINARY.SIZE. */
  binary: Map<number, Buffer | number>;
  /** Bytes held in `binary`. */
  held: number;
}

export async function prepare(s: ImapSession, seq: number, meta: MessageMeta, items: readonly FetchItem[], withSummary: boolean): Promise<Prepared> {
  const p: Prepared = { seq, meta, fieldBytes: new Map(), binary: new Map(), held: 0 };
  if (withSummary) {
    p.summary = (await s.ctx.store.readSummary(meta.bodyId, s.user)) as MessageSummary | undefined;
    if (!p.summary) throw new MessageGoneError(`no structure for message ${meta.uid}`);
  }
  for (let k = 0; k < items.length; k++) {
    const item = items[k]!;
    if (item.kind === 'binary') {
      const value = await binaryContent(s, meta, p.summary, item);
      p.binary.set(k, value);
      if (typeof value !== 'number') p.held += value.length;
      continue;
    }
    if (item.kind !== 'section' || !p.summary) continue;
    const r = resolveSection(p.summary, item.section);
    if (r.filter) p.fieldBytes.set(k, filterHeaderFields(await readAll(s.ctx.store.readBody(meta.bodyId, r.start, r.end, s.user)), r.filter));
  }
  return p;
}

/**
 * The decoded content of BINARY[part] (or its length for BINARY.SIZE). An identity-encoded part's
 * size needs no read; an encoding we cannot undo fails the command (RFC 3516 4.2: NO [UNKNOWN-CTE]).
 */
async function binaryContent(s: ImapSession, meta: MessageMeta, summary: MessageSummary | undefined, item: Extract<FetchItem, { kind: 'binary' }>): Promise<Buffer | number> {
  const r = summary ? resolvePart(summary, item.part) : { start: 0, end: meta.size };
  // A part that does not exist answers empty, as BODY[part] does.
  if (!r || r.end <= r.start) return item.sizeOnly ? 0 : Buffer.alloc(0);
  if (!isKnownEncoding(r.encoding)) {
    throw new ImapError('NO', 'UNKNOWN-CTE', `cannot decode content-transfer-encoding ${JSON.stringify(r.encoding ?? '').slice(0, 40)} of message ${meta.uid}`);
  }
  if (item.sizeOnly && isIdentityEncoding(r.encoding)) return r.end - r.start;
  const decoded = decodeTransferEncoding(await readAll(s.ctx.store.readBody(meta.bodyId, r.start, r.end, s.user)), r.encoding)!;
  return item.sizeOnly ? decoded.length : decoded;
}
