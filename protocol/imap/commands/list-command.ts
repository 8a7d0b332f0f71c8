// LIST (RFC 3501, with LIST-EXTENDED RFC 5258: selection and return options, several patterns;
// SPECIAL-USE RFC 6154; CHILDREN; LIST-STATUS RFC 5819) and LSUB.
//
// The names a LIST can show are the mailboxes that exist and, for a SUBSCRIBED selection, the
// subscribed names whether or not their mailbox exists (\NonExistent). The answer is built whole,
// then sent: a failure part of the way leaves no half list (invariant 2).
import { DELIMITER, normalizeMailboxName } from '../../../storage/mailbox-names.ts';
import type { MailboxInfo } from '../../../storage/types.ts';
import { AUTHENTICATED, type CommandSpec } from '../command.ts';
import { compileListPattern, type ListPattern } from '../list-pattern.ts';
import { MailboxNameError, mailboxFromWire } from '../mailbox-name.ts';
import { atom, expectEnd, list, ParseError, type Token } from '../parser/tokens.ts';
import type { ImapSession } from '../session.ts';
import { messageTotals, nameText, statusItems, statusLine, wireName, type StatusItem } from './mailbox-commands.ts';

interface ListRequest {
  reference: string;
  patterns: string[];
  /** Selection: SUBSCRIBED (LSUB is this too), RECURSIVEMATCH, SPECIAL-USE. */
  subscribedOnly: boolean;
  recursiveMatch: boolean;
  specialUseOnly: boolean;
  returnSubscribed: boolean;
  status?: StatusItem[];
  lsub: boolean;
}

/**
 * LIST reference + pattern → a matcher over store names (linear time); INBOX is case-insensitive. A
 * pattern that is not a well-formed name matches nothing.
 */
function listPattern(reference: string, pattern: string, utf8: boolean): ListPattern {
  try {
    return compileListPattern(normalizeMailboxName(mailboxFromWire(reference + pattern, utf8)));
  } catch (err) {
    if (err instanceof MailboxNameError) return { matches: () => false };
    throw err;
  }
}

function parseList(s: ImapSession, args: readonly Token[], lsub: boolean): ListRequest {
  let i = 0;
  const req: ListRequest = {
    reference: '', patterns: [], subscribedOnly: lsub, recursiveMatch: false, specialUseOnly: false, returnSubscribed: false, lsub,
  };
  if (!lsub && args[0]?.t === 'list') {
    for (const o of args[0].v) {
      const opt = atom(o, 'selection option').toUpperCase();
      if (opt === 'SUBSCRIBED') req.subscribedOnly = req.returnSubscribed = true;
      else if (opt === 'RECURSIVEMATCH') req.recursiveMatch = true;
      else if (opt === 'SPECIAL-USE') req.specialUseOnly = true;
      else if (opt !== 'REMOTE') throw new ParseError(`unknown LIST selection option ${opt}`);
    }
    // RFC 5258 3.1: RECURSIVEMATCH only modifies another selection option (REMOTE does not count)
    if (req.recursiveMatch && !req.subscribedOnly && !req.specialUseOnly) throw new ParseError('RECURSIVEMATCH needs another selection option');
    i++;
  }
  req.reference = nameText(s, args[i++], 'reference');
  const pat = args[i++];
  req.patterns = pat?.t === 'list' ? pat.v.map((p) => nameText(s, p, 'mailbox pattern')) : [nameText(s, pat, 'mailbox pattern')];
  if (!lsub && args[i]?.t === 'atom' && (args[i] as { v: string }).v.toUpperCase() === 'RETURN') {
    const opts = list(args[i + 1], 'return options');
    for (let k = 0; k < opts.length; k++) {
      const opt = atom(opts[k], 'return option').toUpperCase();
      if (opt === 'SUBSCRIBED') req.returnSubscribed = true;
      else if (opt === 'STATUS') req.status = statusItems(list(opts[++k], 'status items'));
      else if (opt !== 'CHILDREN' && opt !== 'SPECIAL-USE') throw new ParseError(`unknown LIST return option ${opt}`);
    }
    i += 2;
  }
  expectEnd(args, i);
  return req;
}

/** The proper ancestors of a name: "a/b/c" → "a", "a/b". */
function* ancestors(name: string): Iterable<string> {
  for (let at = name.indexOf(DELIMITER); at > 0; at = name.indexOf(DELIMITER, at + 1)) yield name.slice(0, at);
}

interface Entry {
  attrs: string[];
  info?: MailboxInfo;
  /** RFC 5258 CHILDINFO: listed only for a descendant that meets the selection. */
  childInfo?: boolean;
}

async function runList(s: ImapSession, req: ListRequest): Promise<void> {
  const verb = req.lsub ? 'LSUB' : 'LIST';
  if (req.patterns.length === 1 && req.patterns[0] === '') {
    s.send(`* ${verb} (\\Noselect) "${DELIMITER}" ""`);
    return;
  }
  const boxes = await s.ctx.store.listMailboxes(s.user!);
  const subscribed = new Set(req.subscribedOnly || req.returnSubscribed ? await s.ctx.store.subscriptions(s.user!) : []);
  const byName = new Map(boxes.map((b) => [b.name, b]));
  const withChildren = new Set<string>();
  for (const b of boxes) for (const a of ancestors(b.name)) withChildren.add(a);
  const patterns = req.patterns.map((p) => listPattern(req.reference, p, s.rev2));
  const matches = (name: string) => patterns.some((p) => p.matches(name));

  // The names that meet the selection criteria.
  const selected = req.subscribedOnly
    ? [...subscribed]
    : boxes.filter((b) => !req.specialUseOnly || b.specialUse).map((b) => b.name);
  const entries = new Map<string, Entry>();
  for (const name of selected) {
    if (!matches(name)) continue;
    const info = byName.get(name);
    const attrs: string[] = [];
    if (!info && !req.lsub) attrs.push('\\NonExistent');
    entries.set(name, { attrs, info });
  }
  // A parent that matches when its selected descendant does not: LSUB shows it as \Noselect
  // (RFC 3501 6.3.9); LIST with RECURSIVEMATCH tells of the descendant in CHILDINFO (RFC 5258 3.5).
  if (req.lsub || req.recursiveMatch) {
    for (const name of selected) {
      if (matches(name)) continue;
      for (const parent of ancestors(name)) {
        if (!matches(parent)) continue;
        const have = entries.get(parent);
        if (req.lsub) {
          if (!have) entries.set(parent, { attrs: ['\\Noselect'] });
        } else if (have) have.childInfo = true;
        else entries.set(parent, { attrs: byName.has(parent) ? [] : ['\\NonExistent'], info: byName.get(parent), childInfo: true });
      }
    }
  }

  const lines: string[] = [];
  for (const name of [...entries.keys()].sort()) {
    const e = entries.get(name)!;
    const attrs = e.attrs;
    if (!req.lsub) {
      if (!attrs.includes('\\NonExistent')) attrs.push(withChildren.has(name) ? '\\HasChildren' : '\\HasNoChildren');
      if (e.info?.specialUse) attrs.push(e.info.specialUse);
      if (req.returnSubscribed && subscribed.has(name)) attrs.push('\\Subscribed');
    }
    lines.push(`* ${verb} (${attrs.join(' ')}) "${DELIMITER}" ${wireName(s, name)}${e.childInfo ? ' ("CHILDINFO" ("SUBSCRIBED"))' : ''}`);
    if (req.status && e.info) lines.push(statusLine(s, e.info, req.status, await messageTotals(s, name, req.status)));
  }
  if (lines.length) s.write(lines.join('\r\n') + '\r\n');
}

export const LIST: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    await runList(s, parseList(s, cmd.args, false));
    return 'LIST completed';
  },
};

export const LSUB: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    await runList(s, parseList(s, cmd.args, true));
    return 'LSUB completed';
  },
};
