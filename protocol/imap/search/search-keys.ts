// SEARCH criteria (RFC 3501 6.4.4, RFC 7162 MODSEQ) parsed into a tree, then evaluated per message:
// metadata keys from the view in memory, text and sent-date keys from the stored message.
import type { MessageMeta } from '../../../storage/types.ts';
import type { MessageSummary, TextKey } from '../../mime/index.ts';
import { searchText } from '../../mime/index.ts';
import { ImapError } from '../command.ts';
import { ParseError, type Token } from '../parser/tokens.ts';
import { parseSearchDate } from '../responses.ts';
import { isSequenceSet, parseSequenceSet, setMembership, type SequenceSet } from '../sequence-set.ts';

export type SearchKey =
  | { k: 'all' }
  | { k: 'recent'; has: boolean }
  | { k: 'new' }
  | { k: 'flag'; flag: string; has: boolean }
  | { k: 'date'; sent: boolean; op: 'before' | 'on' | 'since'; day: number }
  | { k: 'size'; larger: boolean; n: number }
  | { k: 'text'; key: TextKey }
  | { k: 'seq'; set: SequenceSet }
  | { k: 'uid'; set: SequenceSet }
  | { k: 'modseq'; n: number }
  | { k: 'not'; a: SearchKey }
  | { k: 'or'; a: SearchKey; b: SearchKey }
  | { k: 'and'; all: SearchKey[] };

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true], DELETED: ['\\Deleted', true], DRAFT: ['\\Draft', true], FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true], UNANSWERED: ['\\Answered', false], UNDELETED: ['\\Deleted', false], UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false], UNSEEN: ['\\Seen', false],
};
const HEADER_KEYS: Record<string, string> = { BCC: 'bcc', CC: 'cc', FROM: 'from', TO: 'to' };
const DATE_KEYS: Record<string, [boolean, 'before' | 'on' | 'since']> = {
  BEFORE: [false, 'before'], ON: [false, 'on'], SINCE: [false, 'since'],
  SENTBEFORE: [true, 'before'], SENTON: [true, 'on'], SENTSINCE: [true, 'since'],
};

/**
 * Nesting (NOT, OR, parentheses) deeper than any client writes. 16,000 NOTs in one 64 KB line overflowed
 * the stack: a "NO [SERVERBUG]" for bad input, and a recursive evaluation per message after it.
 */
const MAX_NESTING = 100;

export class SearchParser {
  private i = 0;

  constructor(private readonly toks: readonly Token[], private readonly charset: string, private readonly depth = 0) {}

  private next(what: string): Token {
    const t = this.toks[this.i++];
    if (!t) throw new ParseError(`SEARCH: missing ${what}`);
    return t;
  }

  private string(what: string): string {
    const t = this.next(what);
    if (t.t === 'literal') return t.v.toString(this.charset === 'UTF-8' ? 'utf8' : 'latin1');
    if (t.t === 'atom' || t.t === 'string') return Buffer.from(t.v, 'latin1').toString('utf8');
    throw new ParseError(`SEARCH: ${what} must be a string`);
  }

  private number(what: string): number {
    const v = this.string(what);
    if (!/^\d{1,20}$/.test(v)) throw new ParseError(`SEARCH: ${what} must be a number`);
    return Number(v);
  }

  parseAll(): SearchKey {
    const all: SearchKey[] = [];
    while (this.i < this.toks.length) all.push(this.key());
    if (all.length === 0) throw new ParseError('SEARCH needs criteria');
    return all.length === 1 ? all[0]! : { k: 'and', all };
  }

  private key(depth = this.depth): SearchKey {
    if (depth > MAX_NESTING) throw new ParseError(`SEARCH: criteria nested deeper than ${MAX_NESTING}`);
    const t = this.next('search key');
    if (t.t === 'list') return new SearchParser(t.v, this.charset, depth + 1).parseAll();
    if (t.t !== 'atom') throw new ParseError('SEARCH: expected a search key');
    const name = t.v.toUpperCase();
    if (FLAG_KEYS[name]) return { k: 'flag', flag: FLAG_KEYS[name][0], has: FLAG_KEYS[name][1] };
    if (HEADER_KEYS[name]) return { k: 'text', key: { kind: 'address', field: HEADER_KEYS[name], value: this.string(name) } };
    if (DATE_KEYS[name]) {
      const d = parseSearchDate(this.string('date'));
      if (d === undefined) throw new ParseError(`SEARCH: bad date for ${name}`);
      return { k: 'date', sent: DATE_KEYS[name][0], op: DATE_KEYS[name][1], day: d };
    }
    switch (name) {
      case 'ALL': return { k: 'all' };
      case 'OLD': return { k: 'recent', has: false };
      case 'RECENT': return { k: 'recent', has: true };
      case 'NEW': return { k: 'new' };
      case 'SUBJECT': return { k: 'text', key: { kind: 'header', field: 'subject', value: this.string(name) } };
      case 'KEYWORD': return { k: 'flag', flag: this.string('keyword'), has: true };
      case 'UNKEYWORD': return { k: 'flag', flag: this.string('keyword'), has: false };
      case 'LARGER': return { k: 'size', larger: true, n: this.number('size') };
      case 'SMALLER': return { k: 'size', larger: false, n: this.number('size') };
      case 'BODY': return { k: 'text', key: { kind: 'body', value: this.string('BODY') } };
      case 'TEXT': return { k: 'text', key: { kind: 'text', value: this.string('TEXT') } };
      case 'HEADER': {
        const field = this.string('header name');
        return { k: 'text', key: { kind: 'header', field, value: this.string('header value') } };
      }
      case 'UID': return { k: 'uid', set: parseSequenceSet(this.string('UID set')) };
      case 'NOT': return { k: 'not', a: this.key(depth + 1) };
      case 'OR': return { k: 'or', a: this.key(depth + 1), b: this.key(depth + 1) };
      case 'MODSEQ': {
        // MODSEQ [entry-name entry-type] n
        if (this.toks[this.i]?.t === 'string') this.i += 2;
        return { k: 'modseq', n: this.number('modseq') };
      }
    }
    if (isSequenceSet(t.v)) return { k: 'seq', set: parseSequenceSet(t.v) };
    throw new ParseError(`SEARCH: unknown key ${name.slice(0, 32)}`);
  }
}

const SUPPORTED_CHARSETS = new Set(['UTF-8', 'US-ASCII']);

/** The charset, upper-cased, or NO [BADCHARSET] when it is not one this server searches in. */
export function checkCharset(name: string): string {
  const charset = name.toUpperCase();
  if (!SUPPORTED_CHARSETS.has(charset)) throw new ImapError('NO', 'BADCHARSET (UTF-8 US-ASCII)', 'unsupported charset');
  return charset;
}

/** Splits off "CHARSET x" and parses the rest. */
export function parseSearch(toks: readonly Token[]): { key: SearchKey; charset: string } {
  let charset = 'UTF-8';
  let rest = toks;
  if (toks[0]?.t === 'atom' && toks[0].v.toUpperCase() === 'CHARSET') {
    const c = toks[1];
    charset = checkCharset(c && c.t !== 'list' ? (c.t === 'literal' ? c.v.toString() : c.v) : '');
    rest = toks.slice(2);
  }
  return { key: new SearchParser(rest, charset).parseAll(), charset };
}

export function needsContent(key: SearchKey): boolean {
  switch (key.k) {
    case 'text': return true;
    case 'date': return key.sent;
    case 'not': return needsContent(key.a);
    case 'or': return needsContent(key.a) || needsContent(key.b);
    case 'and': return key.all.some(needsContent);
    default: return false;
  }
}

export function usesModseq(key: SearchKey): boolean {
  switch (key.k) {
    case 'modseq': return true;
    case 'not': return usesModseq(key.a);
    case 'or': return usesModseq(key.a) || usesModseq(key.b);
    case 'and': return key.all.some(usesModseq);
    default: return false;
  }
}

const DAY = 86_400_000;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Compares days, the time of day ignored (RFC 3501 6.4.4). `dayMs` is 00:00 UTC of a day. */
function dateMatch(op: 'before' | 'on' | 'since', dayMs: number, day: number): boolean {
  return op === 'before' ? dayMs < day : op === 'on' ? dayMs === day : dayMs >= day;
}

/**
 * The calendar day of a Date: header in its own time zone ("Sun, 25 Mar 2007 00:00:00 +0200" is the
 * 25th), as 00:00 UTC of that day; undefined when the header does not parse.
 */
export function sentDay(date: string | undefined): number | undefined {
  const m = /(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{2,4})/.exec(date ?? '');
  if (m) {
    const month = MONTHS.indexOf(m[2]!.toLowerCase());
    let year = Number(m[3]);
    // RFC 5322 4.3: two-digit years are 19xx from 50, 20xx below; three digits add 1900
    if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
    else if (m[3]!.length === 3) year += 1900;
    if (month >= 0) return Date.UTC(year, month, Number(m[1]));
  }
  const ms = Date.parse(date ?? '');
  return Number.isFinite(ms) ? Math.floor(ms / DAY) * DAY : undefined;
}

export interface MessageContent {
  raw: Buffer;
  summary: MessageSummary;
}

/** Everything a key may ask about one message; content is loaded only if a key needs it. */
export interface Candidate {
  index: number;
  meta: MessageMeta;
  content?: MessageContent;
}

/**
 * Evaluates a key over the candidates. Sequence and UID sets become membership tests over their
 * merged ranges, O(log k) per message: nothing is built per message, so `UID 1:*` on a mailbox of a
 * million costs no memory (a set of its indexes took 40 MB and 0.3 s before the first message).
 */
export function evaluator(key: SearchKey, view: readonly MessageMeta[], isRecent: (uid: number) => boolean = () => false): (c: Candidate) => boolean {
  const members = new Map<SearchKey, (n: number) => boolean>();
  const highestUid = view.length ? view[view.length - 1]!.uid : 0;
  const resolve = (k: SearchKey): void => {
    // "*" is the highest sequence number or UID in use (RFC 3501 6.4.8, 9)
    if (k.k === 'seq') members.set(k, setMembership(k.set, view.length));
    else if (k.k === 'uid') members.set(k, setMembership(k.set, highestUid));
    else if (k.k === 'not') resolve(k.a);
    else if (k.k === 'or') (resolve(k.a), resolve(k.b));
    else if (k.k === 'and') k.all.forEach(resolve);
  };
  resolve(key);
  const test = (k: SearchKey, c: Candidate): boolean => {
    switch (k.k) {
      case 'all': return true;
      case 'recent': return isRecent(c.meta.uid) === k.has;
      // RFC 3501 6.4.4: NEW is RECENT UNSEEN
      case 'new': return isRecent(c.meta.uid) && !c.meta.flags.includes('\\Seen');
      case 'flag': return c.meta.flags.some((f) => f.toLowerCase() === k.flag.toLowerCase()) === k.has;
      case 'size': return k.larger ? c.meta.size > k.n : c.meta.size < k.n;
      case 'modseq': return c.meta.modseq >= k.n;
      case 'seq': return members.get(k)!(c.index + 1);
      case 'uid': return members.get(k)!(c.meta.uid);
      case 'date': {
        if (!k.sent) return dateMatch(k.op, Math.floor(c.meta.internalDate / DAY) * DAY, k.day);
        const sent = sentDay(c.content?.summary.envelope.date);
        return sent !== undefined && dateMatch(k.op, sent, k.day);
      }
      case 'text': return !!c.content && searchText(c.content.raw, c.content.summary, k.key);
      case 'not': return !test(k.a, c);
      case 'or': return test(k.a, c) || test(k.b, c);
      case 'and': return k.all.every((x) => test(x, c));
    }
  };
  return (c) => test(key, c);
}
