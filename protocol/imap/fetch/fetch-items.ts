// FETCH data items (RFC 3501 6.4.5, RFC 7162 MODSEQ, RFC 3516 BINARY): parsed once per command into a plan.
import type { SectionSpec } from '../../mime/index.ts';
import { ParseError, type Token } from '../parser/tokens.ts';

export type FetchItem =
  | { kind: 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODY' | 'BODYSTRUCTURE' | 'MODSEQ' }
  | {
      kind: 'section';
      /** How the item is named in the response, e.g. BODY[HEADER.FIELDS (FROM)] or RFC822.HEADER. */
      label: string;
      section: SectionSpec;
      partial?: { start: number; length: number };
      peek: boolean;
    }
  | {
      /** BINARY[part], BINARY.PEEK[part] and BINARY.SIZE[part] (RFC 3516): the part's decoded content. */
      kind: 'binary';
      /** Label without the partial origin, e.g. BINARY[1.2] or BINARY.SIZE[1.2]. */
      label: string;
      /** Empty: the whole message, unchanged. */
      part: number[];
      partial?: { start: number; length: number };
      peek: boolean;
      /** BINARY.SIZE: only the decoded length is answered. */
      sizeOnly: boolean;
    };

const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

const SIMPLE = new Set(['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'MODSEQ']);

function parseSection(spec: string): SectionSpec {
  // "", "HEADER", "TEXT", "1.2", "1.2.MIME", "2.HEADER.FIELDS (A B)", "HEADER.FIELDS.NOT (A)"
  const m = /^((?:\d+\.)*\d+)?(?:\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME))?(?: \((.*)\))?$/i.exec(spec.trim());
  if (!m) throw new ParseError(`bad section [${spec}]`);
  const part = m[1] ? m[1].split('.').map(Number) : [];
  if (part.some((n) => n < 1)) throw new ParseError(`bad section part [${spec}]`);
  const kindRaw = (m[2] ?? '').toUpperCase();
  if (m[1] && m[2] && !spec.slice(m[1].length).startsWith('.')) throw new ParseError(`bad section [${spec}]`);
  if (kindRaw === 'MIME' && part.length === 0) throw new ParseError('MIME needs a part number');
  const kind = (kindRaw.toLowerCase() || 'all') as SectionSpec['kind'];
  const isFields = kind === 'header.fields' || kind === 'header.fields.not';
  if (isFields !== (m[3] !== undefined)) throw new ParseError(`bad section [${spec}]`);
  const fields = isFields ? m[3]!.split(/\s+/).filter(Boolean).map((f) => f.replace(/^"|"$/g, '')) : undefined;
  if (isFields && fields!.length === 0) throw new ParseError('HEADER.FIELDS needs field names');
  return { part, kind, fields };
}

function sectionLabel(s: SectionSpec): string {
  const part = s.part.join('.');
  const kind = s.kind === 'all' ? '' : s.kind.toUpperCase();
  const fields = s.fields ? ` (${s.fields.map((f) => f.toUpperCase()).join(' ')})` : '';
  return `${part}${part && kind ? '.' : ''}${kind}${fields}`;
}

/** section-binary = "[" [section-part] "]" — part numbers only: HEADER, TEXT and MIME have no BINARY form. */
function parseBinary(raw: string): FetchItem | undefined {
  const m = /^(BINARY|BINARY\.PEEK|BINARY\.SIZE)\[((?:[1-9]\d*)(?:\.[1-9]\d*)*)?\](?:<(\d+)\.(\d+)>)?$/i.exec(raw);
  if (!m) return undefined;
  const verb = m[1]!.toUpperCase();
  const part = m[2] ? m[2].split('.').map(Number) : [];
  const sizeOnly = verb === 'BINARY.SIZE';
  if (sizeOnly && m[3] !== undefined) throw new ParseError('BINARY.SIZE takes no partial range');
  const partial = m[3] !== undefined ? { start: Number(m[3]), length: Number(m[4]) } : undefined;
  return { kind: 'binary', label: `${sizeOnly ? 'BINARY.SIZE' : 'BINARY'}[${part.join('.')}]`, part, partial, peek: verb !== 'BINARY', sizeOnly };
}

function parseItem(raw: string): FetchItem {
  const upper = raw.toUpperCase();
  if (SIMPLE.has(upper)) return { kind: upper as 'UID' };
  if (upper === 'RFC822') return { kind: 'section', label: 'RFC822', section: { part: [], kind: 'all' }, peek: false };
  if (upper === 'RFC822.HEADER') return { kind: 'section', label: 'RFC822.HEADER', section: { part: [], kind: 'header' }, peek: true };
  if (upper === 'RFC822.TEXT') return { kind: 'section', label: 'RFC822.TEXT', section: { part: [], kind: 'text' }, peek: false };
  if (/^BINARY/i.test(raw)) {
    const binary = parseBinary(raw);
    if (!binary) throw new ParseError(`bad BINARY item ${raw.slice(0, 40)}`);
    return binary;
  }
  const m = /^(BODY|BODY\.PEEK)\[([^\]]*)\](?:<(\d+)\.(\d+)>)?$/i.exec(raw);
  if (!m) throw new ParseError(`unknown FETCH item ${raw.slice(0, 40)}`);
  const section = parseSection(m[2]!);
  const partial = m[3] !== undefined ? { start: Number(m[3]), length: Number(m[4]) } : undefined;
  return { kind: 'section', label: `BODY[${sectionLabel(section)}]`, section, partial, peek: m[1]!.toUpperCase() === 'BODY.PEEK' };
}

export interface FetchPlan {
  items: FetchItem[];
  changedSince?: number;
  /** UID FETCH … (CHANGEDSINCE n VANISHED): report expunged UIDs too (RFC 7162 3.2.6). */
  vanished?: boolean;
}

export function parseFetchItems(args: readonly Token[]): FetchPlan {
  const spec = args[0];
  if (!spec) throw new ParseError('FETCH needs data items');
  let names: string[];
  if (spec.t === 'list') {
    names = spec.v.map((t) => {
      if (t.t !== 'atom') throw new ParseError('FETCH items must be atoms');
      return t.v;
    });
  } else if (spec.t === 'atom') {
    names = MACROS[spec.v.toUpperCase()] ?? [spec.v];
  } else throw new ParseError('FETCH needs data items');
  const plan: FetchPlan = { items: names.map(parseItem) };
  if (args[1]) {
    // (CHANGEDSINCE n) — RFC 7162
    if (args[1].t !== 'list') throw new ParseError('bad FETCH modifier');
    const mods = args[1].v;
    for (let i = 0; i < mods.length; i++) {
      const name = mods[i]?.t === 'atom' ? (mods[i] as { v: string }).v.toUpperCase() : '';
      if (name === 'VANISHED') {
        plan.vanished = true;
        continue;
      }
      const value = mods[i + 1]?.t === 'atom' ? Number((mods[i + 1] as { v: string }).v) : NaN;
      if (name !== 'CHANGEDSINCE' || !Number.isInteger(value) || value < 0) throw new ParseError('bad FETCH modifier');
      plan.changedSince = value;
      i++;
    }
    if (plan.vanished && plan.changedSince === undefined) throw new ParseError('VANISHED needs CHANGEDSINCE');
  }
  if (args.length > 2) throw new ParseError('too many FETCH arguments');
  return plan;
}
