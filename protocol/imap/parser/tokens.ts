// IMAP command grammar (RFC 3501 section 9), turned into a small token tree: atoms, strings,
// literals and parenthesised lists. Pure: no I/O. Everything that does not parse is a ParseError,
// which the session answers with BAD.
import type { CommandPart } from './command-reader.ts';

export type Token =
  | { t: 'atom'; v: string }
  | { t: 'string'; v: string }
  | { t: 'literal'; v: Buffer; binary?: boolean }
  | { t: 'list'; v: Token[] };

export interface ParsedCommand {
  tag: string;
  /** Upper-cased command name; "UID FETCH" etc. for UID commands. */
  name: string;
  args: Token[];
}

export class ParseError extends Error {
  override name = 'ParseError';
}

const TAG = /^[\x21-\x7e]+$/;
const ATOM_STOP = new Set([' ', '(', ')', '"', '{']);
/** FETCH items whose "[" opens a section spec. */
const SECTIONED = /^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)$/i;

function tokenizeText(text: string, stack: Token[][]): void {
  let i = 0;
  const top = () => stack[stack.length - 1]!;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ') {
      i++;
    } else if (c === '(') {
      const list: Token[] = [];
      top().push({ t: 'list', v: list });
      stack.push(list);
      i++;
    } else if (c === ')') {
      if (stack.length === 1) throw new ParseError('unbalanced ")"');
      stack.pop();
      i++;
    } else if (c === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new ParseError('unterminated quoted string');
        const d = text[i]!;
        if (d === '\\') {
          const e = text[i + 1];
          if (e !== '\\' && e !== '"') throw new ParseError('bad escape in quoted string');
          v += e;
          i += 2;
        } else if (d === '"') {
          i++;
          break;
        } else {
          v += d;
          i++;
        }
      }
      top().push({ t: 'string', v });
    } else {
      let v = '';
      while (i < text.length && !ATOM_STOP.has(text[i]!)) {
        const d = text[i]!;
        if (d === '[' && SECTIONED.test(v)) {
          // section spec: BODY[HEADER.FIELDS (A B)] — brackets may hold spaces and lists
          const close = sectionEnd(text, i);
          if (close < 0) throw new ParseError('unterminated "["');
          v += text.slice(i, close);
          i = close;
          continue;
        }
        // Anywhere else "[" is an ordinary character: a mailbox name may hold it as an atom
        // (ASTRING-CHAR includes resp-specials; imaptest's atoms test selects "…|[}").
        v += d;
        i++;
      }
      if (!v) throw new ParseError(`unexpected "${text[i]}"`);
      // eslint-disable-next-line no-control-regex
      if (/[\x00-\x1f\x7f]/.test(v)) throw new ParseError('control character in atom');
      top().push({ t: 'atom', v });
    }
  }
}

/** Index just past the "]" that closes the "[" at `at`, or -1 when it is not closed. */
function sectionEnd(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    if (text[i] === '[') depth++;
    else if (text[i] === ']' && --depth === 0) return i + 1;
  }
  return -1;
}

export function tokenize(parts: readonly CommandPart[]): Token[] {
  const root: Token[] = [];
  const stack: Token[][] = [root];
  for (const p of parts) {
    if ('text' in p) tokenizeText(p.text, stack);
    else stack[stack.length - 1]!.push(p.binary ? { t: 'literal', v: p.literal, binary: true } : { t: 'literal', v: p.literal });
  }
  if (stack.length !== 1) throw new ParseError('unbalanced "("');
  return root;
}

export function parseCommand(parts: readonly CommandPart[]): ParsedCommand {
  const first = parts[0];
  const head = first && 'text' in first ? first.text : '';
  const sp = head.indexOf(' ');
  const tag = sp < 0 ? head : head.slice(0, sp);
  if (!tag || !TAG.test(tag) || tag.includes('+') || /[(){%*"\\]/.test(tag)) throw new ParseError('missing or invalid tag');
  const rest: CommandPart[] = [{ text: sp < 0 ? '' : head.slice(sp + 1) }, ...parts.slice(1)];
  const tokens = tokenize(rest);
  const cmd = tokens.shift();
  if (!cmd || cmd.t !== 'atom') throw new ParseError('missing command');
  let name = cmd.v.toUpperCase();
  if (name === 'UID') {
    const sub = tokens.shift();
    if (!sub || sub.t !== 'atom') throw new ParseError('UID needs a command');
    name = `UID ${sub.v.toUpperCase()}`;
  }
  return { tag, name, args: tokens };
}

// ---- argument helpers for command handlers ---------------------------------------------------

/** astring: atom, quoted string or literal, as a string (literals decoded as UTF-8). */
export function astring(tok: Token | undefined, what = 'argument'): string {
  if (!tok) throw new ParseError(`missing ${what}`);
  if (tok.t === 'atom' || tok.t === 'string') return tok.v;
  if (tok.t === 'literal') return tok.v.toString('utf8');
  throw new ParseError(`${what} must be a string`);
}

/**
 * astring whose bytes are read as UTF-8 whatever its form (RFC 9051 allows UTF-8 in quoted strings
 * and atoms; the command text arrives as latin1, one char per byte).
 */
export function utf8String(tok: Token | undefined, what = 'argument'): string {
  if (tok && (tok.t === 'atom' || tok.t === 'string')) return Buffer.from(tok.v, 'latin1').toString('utf8');
  return astring(tok, what);
}

export function atom(tok: Token | undefined, what = 'argument'): string {
  if (!tok || tok.t !== 'atom') throw new ParseError(`missing ${what}`);
  return tok.v;
}

export function list(tok: Token | undefined, what = 'list'): Token[] {
  if (!tok || tok.t !== 'list') throw new ParseError(`${what} must be a parenthesised list`);
  return tok.v;
}

export function expectEnd(args: readonly Token[], from: number): void {
  if (args.length > from) throw new ParseError('too many arguments');
}
