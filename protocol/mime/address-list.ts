// RFC 5322 address lists as ENVELOPE wants them: (name adl mailbox host) per address, groups as
// (NIL NIL "group" NIL) … (NIL NIL NIL NIL). Lenient: whatever cannot be parsed becomes a mailbox
// without a host rather than an error.

export interface ImapAddress {
  name: string | null;
  /** Source route ("@a,@b") of an obsolete route-addr; ENVELOPE keeps it (RFC 3501 7.4.2 "adl"). */
  adl?: string;
  mailbox: string | null;
  host: string | null;
}

const WORD_END = new Set(' \t\r\n()"<>,:;@');

type Token = { kind: 'word' | 'quoted' | 'special' | 'comment'; text: string };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '(') {
      const from = i;
      let depth = 0;
      for (; i < s.length; i++) {
        if (s[i] === '\\') i++;
        else if (s[i] === '(') depth++;
        else if (s[i] === ')' && --depth === 0) {
          i++;
          break;
        }
      }
      out.push({ kind: 'comment', text: s.slice(from + 1, i - 1).trim() });
    } else if (c === '"') {
      let text = '';
      for (i++; i < s.length && s[i] !== '"'; i++) text += s[i] === '\\' && i + 1 < s.length ? s[++i] : s[i];
      i++;
      out.push({ kind: 'quoted', text });
    } else if ('<>,:;@'.includes(c)) {
      out.push({ kind: 'special', text: c });
      i++;
    } else {
      const from = i;
      while (i < s.length && !WORD_END.has(s[i]!)) i++;
      out.push({ kind: 'word', text: s.slice(from, i) });
    }
  }
  return out;
}

function addrSpec(tokens: Token[]): ImapAddress {
  const at = tokens.findIndex((t) => t.kind === 'special' && t.text === '@');
  const join = (ts: Token[]) => ts.map((t) => (t.kind === 'quoted' && /[\s"\\]/.test(t.text) ? `"${t.text}"` : t.text)).join('');
  if (at < 0) return { name: null, mailbox: join(tokens) || null, host: null };
  return { name: null, mailbox: join(tokens.slice(0, at)) || null, host: join(tokens.slice(at + 1)) || null };
}

/**
 * One mailbox. Comments are dropped, except that a bare `user@domain (Real Name)` takes its comment
 * as the display name, as RFC 822-era mail means it (and Dovecot reads it).
 */
function mailbox(all: Token[]): ImapAddress | undefined {
  const tokens = all.filter((t) => t.kind !== 'comment');
  if (tokens.length === 0) return undefined;
  const lt = tokens.findIndex((t) => t.kind === 'special' && t.text === '<');
  if (lt >= 0) {
    let gt = tokens.findIndex((t, i) => i > lt && t.kind === 'special' && t.text === '>');
    if (gt < 0) gt = tokens.length;
    const name = tokens.slice(0, lt).map((t) => t.text).join(' ').trim();
    // route-addr "<@a,@b:user@host>": the route goes apart
    let spec = tokens.slice(lt + 1, gt);
    const colon = spec.findIndex((t) => t.kind === 'special' && t.text === ':');
    const adl = colon >= 0 ? spec.slice(0, colon).map((t) => t.text).join('') : undefined;
    if (colon >= 0) spec = spec.slice(colon + 1);
    return { ...addrSpec(spec), name: name || null, ...(adl ? { adl } : {}) };
  }
  const spec = addrSpec(tokens);
  const comment = all.filter((t) => t.kind === 'comment' && t.text).pop();
  return comment ? { ...spec, name: comment.text } : spec;
}

/** Parses an address-list header value; undefined when it holds no address. */
export function parseAddressList(value: string): (ImapAddress | { group: string; members: ImapAddress[] })[] {
  const tokens = tokenize(value);
  const out: (ImapAddress | { group: string; members: ImapAddress[] })[] = [];
  let cur: Token[] = [];
  let group: { group: string; members: ImapAddress[] } | undefined;
  const flush = () => {
    const m = mailbox(cur);
    cur = [];
    if (!m) return;
    if (group) group.members.push(m);
    else out.push(m);
  };
  for (const t of tokens) {
    if (t.kind === 'special' && t.text === ',' ) flush();
    else if (t.kind === 'special' && t.text === ':' && !group && !cur.some((x) => x.kind === 'special' && x.text === '<')) {
      group = { group: cur.filter((x) => x.kind !== 'comment').map((x) => x.text).join(' '), members: [] };
      cur = [];
    } else if (t.kind === 'special' && t.text === ';' && group) {
      flush();
      out.push(group);
      group = undefined;
    } else cur.push(t);
  }
  flush();
  if (group) out.push(group);
  return out;
}
