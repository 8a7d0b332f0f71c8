// FETCH, step two: a message's answer as pieces — text, bytes already read, and body ranges still to
// be streamed — and the metadata-only lines every client sync asks for, rendered without the store.
import type { BodyRange, MessageMeta } from '../../../storage/types.ts';
import { formatBodyStructure, formatEnvelope, resolveSection } from '../../mime/index.ts';
import { flagList, internalDate } from '../responses.ts';
import { breathe, RUN } from '../in-slices.ts';
import type { Prepared } from './fetch-prepare.ts';
import type { FetchItem } from './fetch-items.ts';

export type Piece = string | Buffer | BodyRange;

export function* bodyRanges(rendered: readonly (readonly Piece[])[]): Iterable<BodyRange> {
  for (const pieces of rendered) for (const p of pieces) if (typeof p !== 'string' && !Buffer.isBuffer(p)) yield p;
}

function literal(pieces: Piece[], label: string, body: Piece, size: number): void {
  pieces.push(`${label} {${size}}\r\n`, body);
}

export function render(p: Prepared, items: readonly FetchItem[], withModseq: boolean, flagsOf: FlagsOf): Piece[] {
  const { meta } = p;
  const pieces: Piece[] = [`* ${p.seq} FETCH (`];
  const out: string[] = [];
  const flushText = () => {
    if (out.length) pieces.push(out.join(' ') + ' ');
    out.length = 0;
  };
  items.forEach((item, k) => {
    switch (item.kind) {
      case 'UID': case 'FLAGS': case 'INTERNALDATE': case 'RFC822.SIZE': out.push(metaItem(item.kind, meta, flagsOf)); break;
      case 'MODSEQ': break;
      case 'ENVELOPE': out.push(`ENVELOPE ${formatEnvelope(p.summary!)}`); break;
      case 'BODY': out.push(`BODY ${formatBodyStructure(p.summary!, false)}`); break;
      case 'BODYSTRUCTURE': out.push(`BODYSTRUCTURE ${formatBodyStructure(p.summary!, true)}`); break;
      case 'binary': {
        const value = p.binary.get(k)!;
        if (typeof value === 'number') {
          out.push(`${item.label} ${value}`);
          break;
        }
        flushText();
        const bytes = item.partial ? value.subarray(item.partial.start, item.partial.start + item.partial.length) : value;
        const label = item.partial ? `${item.label}<${item.partial.start}>` : item.label;
        // RFC 3516 4.3: literal8 is needed only when the content holds NUL, which a literal may not.
        pieces.push(`${label} ${bytes.includes(0) ? '~' : ''}{${bytes.length}}\r\n`, bytes, ' ');
        break;
      }
      case 'section': {
        flushText();
        let start = 0;
        let end = meta.size;
        if (item.section.part.length > 0 || item.section.kind !== 'all') ({ start, end } = resolveSection(p.summary!, item.section));
        const fields = p.fieldBytes.get(k);
        let label = item.label;
        if (item.partial) label += `<${item.partial.start}>`;
        if (fields) {
          const bytes = item.partial ? fields.subarray(item.partial.start, item.partial.start + item.partial.length) : fields;
          literal(pieces, label, bytes, bytes.length);
        } else {
          if (item.partial) {
            start = Math.min(end, start + item.partial.start);
            end = Math.min(end, start + item.partial.length);
          }
          literal(pieces, label, { bodyId: meta.bodyId, start, end }, end - start);
        }
        pieces.push(' ');
        break;
      }
    }
  });
  if (withModseq) out.push(`MODSEQ (${meta.modseq})`);
  flushText();
  const last = pieces[pieces.length - 1];
  if (typeof last === 'string') pieces[pieces.length - 1] = last.replace(/ $/, '');
  pieces.push(')\r\n');
  return pieces;
}

const wholeMailbox = new WeakMap<readonly MessageMeta[], Map<string, Promise<readonly Buffer[]>>>();

/**
 * The metadata FETCH answer for every message of a snapshot, rendered once per snapshot and item
 * list. Snapshots are immutable and shared by every session that opened the same version of the
 * mailbox, so a storm of clients syncing one mailbox costs one rendering per change of it, as
 * POP3 listings do — and sessions that ask while it renders wait for that one. It renders RUN
 * lines at a time, giving the loop back between (invariant 10: long work yields): in one piece, a
 * million messages held every session for 2 s (one 41 MB string); in slices they take 0.5 s in
 * steps of a few ms.
 */
export function wholeMailboxMetaLines(messages: readonly MessageMeta[], items: readonly FetchItem[], withModseq: boolean): Promise<readonly Buffer[]> {
  const key = `${items.map((i) => i.kind).join(' ')}${withModseq ? ' +MODSEQ' : ''}`;
  let cached = wholeMailbox.get(messages);
  if (!cached) wholeMailbox.set(messages, (cached = new Map()));
  let rendering = cached.get(key);
  if (!rendering) {
    const into = cached;
    rendering = renderInSlices(messages, items, withModseq);
    into.set(key, rendering);
    // a rendering that failed is not an answer to keep
    rendering.catch(() => into.delete(key));
  }
  return rendering;
}

async function renderInSlices(messages: readonly MessageMeta[], items: readonly FetchItem[], withModseq: boolean): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for (let from = 0; from < messages.length; from += RUN) {
    if (from > 0) await breathe();
    let out = '';
    for (let i = from; i < Math.min(from + RUN, messages.length); i++) out += metaLine(i + 1, messages[i]!, items, withModseq, storedFlags);
    chunks.push(Buffer.from(out, 'latin1'));
  }
  return chunks;
}

type MetaItem = 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE';

/** One metadata item of a FETCH response: what the index alone can answer. */
/** A message's flags as the session shows them (\Recent is the session's, not the store's). */
export type FlagsOf = (meta: MessageMeta) => readonly string[];
const storedFlags: FlagsOf = (meta) => meta.flags;

function metaItem(kind: MetaItem, meta: MessageMeta, flagsOf: FlagsOf): string {
  switch (kind) {
    case 'UID': return `UID ${meta.uid}`;
    case 'FLAGS': return `FLAGS ${flagList(flagsOf(meta))}`;
    case 'INTERNALDATE': return `INTERNALDATE ${internalDate(meta.internalDate)}`;
    case 'RFC822.SIZE': return `RFC822.SIZE ${meta.size}`;
  }
}

export function metaLine(seq: number, meta: MessageMeta, items: readonly FetchItem[], withModseq: boolean, flagsOf: FlagsOf): string {
  let line = `* ${seq} FETCH (`;
  let sep = '';
  for (const item of items) {
    if (item.kind === 'MODSEQ') continue; // goes last, once
    line += sep + metaItem(item.kind as MetaItem, meta, flagsOf);
    sep = ' ';
  }
  if (withModseq) line += `${sep}MODSEQ (${meta.modseq})`;
  return `${line})\r\n`;
}
