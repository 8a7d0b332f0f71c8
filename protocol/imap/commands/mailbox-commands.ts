// Mailbox management: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (with LIST-EXTENDED
// selection/return options, SPECIAL-USE, CHILDREN, LIST-STATUS), LSUB, STATUS, NAMESPACE.
import { DELIMITER, INBOX, normalizeMailboxName } from '../../../storage/mailbox-names.ts';
import type { MailboxInfo } from '../../../storage/types.ts';
import { AUTHENTICATED, ImapError, type CommandSpec } from '../command.ts';
import { decodeMailboxName, encodeMailboxName } from '../mailbox-name.ts';
import { astring, atom, expectEnd, list, ParseError, type Token } from '../parser/tokens.ts';
import { imapString } from '../responses.ts';
import type { ImapSession } from '../session.ts';

export const mailboxArg = (tok: Token | undefined): string => normalizeMailboxName(decodeMailboxName(astring(tok, 'mailbox name')));
const wireName = (name: string): string => imapString(encodeMailboxName(name));

export const CREATE: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 1);
    const name = mailboxArg(cmd.args[0]).replace(/\/$/, '');
    if (name === INBOX) throw new ImapError('NO', 'ALREADYEXISTS', 'INBOX always exists');
    await s.ctx.store.createMailbox(s.user!, name);
    return 'CREATE completed';
  },
};

export const DELETE: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 1);
    const name = mailboxArg(cmd.args[0]);
    if (s.selected?.name === name) s.deselect();
    await s.ctx.store.deleteMailbox(s.user!, name);
    return 'DELETE completed';
  },
};

export const RENAME: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 2);
    await s.ctx.store.renameMailbox(s.user!, mailboxArg(cmd.args[0]), mailboxArg(cmd.args[1]));
    return 'RENAME completed';
  },
};

const subscription = (on: boolean): CommandSpec => ({
  states: AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 1);
    await s.ctx.store.setSubscribed(s.user!, mailboxArg(cmd.args[0]), on);
    return `${on ? 'SUBSCRIBE' : 'UNSUBSCRIBE'} completed`;
  },
});
export const SUBSCRIBE = subscription(true);
export const UNSUBSCRIBE = subscription(false);

export const NAMESPACE: CommandSpec = {
  states: AUTHENTICATED,
  async run(s) {
    s.send(`* NAMESPACE (("" "${DELIMITER}")) NIL NIL`);
    return 'NAMESPACE completed';
  },
};

/** LIST pattern → RegExp: "*" matches anything, "%" anything but the delimiter; INBOX is case-insensitive. */
function patternRegex(reference: string, pattern: string): RegExp {
  const full = normalizeMailboxName(decodeMailboxName(reference + pattern));
  const body = [...full].map((c) => (c === '*' ? '.*' : c === '%' ? '[^/]*' : c.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 'su');
}

const STATUS_ITEMS = ['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ'] as const;
type StatusItem = (typeof STATUS_ITEMS)[number];

function statusItems(tokens: readonly Token[]): StatusItem[] {
  return tokens.map((t) => {
    const item = atom(t, 'status item').toUpperCase();
    if (!(STATUS_ITEMS as readonly string[]).includes(item)) throw new ParseError(`unknown STATUS item ${item}`);
    return item as StatusItem;
  });
}

function statusLine(info: MailboxInfo, items: readonly StatusItem[]): string {
  const value = (i: StatusItem): number => {
    switch (i) {
      case 'MESSAGES': return info.messages;
      case 'RECENT': return 0;
      case 'UIDNEXT': return info.uidNext;
      case 'UIDVALIDITY': return info.uidValidity;
      case 'UNSEEN': return info.unseen;
      case 'HIGHESTMODSEQ': return info.highestModseq;
    }
  };
  return `* STATUS ${wireName(info.name)} (${items.map((i) => `${i} ${value(i)}`).join(' ')})`;
}

export const STATUS: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 2);
    const name = mailboxArg(cmd.args[0]);
    const items = statusItems(list(cmd.args[1], 'status items'));
    const info = await s.heavy('STATUS', () => s.ctx.store.getMailbox(s.user!, name));
    if (!info) throw new ImapError('NO', 'NONEXISTENT', 'no such mailbox');
    s.send(statusLine(info, items));
    return 'STATUS completed';
  },
};

interface ListRequest {
  reference: string;
  patterns: string[];
  subscribedOnly: boolean;
  returnSubscribed: boolean;
  returnSpecialUse: boolean;
  status?: StatusItem[];
  lsub: boolean;
}

function parseList(args: readonly Token[], lsub: boolean): ListRequest {
  let i = 0;
  const req: ListRequest = { reference: '', patterns: [], subscribedOnly: lsub, returnSubscribed: false, returnSpecialUse: false, lsub };
  if (!lsub && args[0]?.t === 'list') {
    for (const o of args[0].v) {
      const opt = atom(o, 'selection option').toUpperCase();
      if (opt === 'SUBSCRIBED') req.subscribedOnly = req.returnSubscribed = true;
      else if (opt !== 'REMOTE' && opt !== 'RECURSIVEMATCH' && opt !== 'SPECIAL-USE') throw new ParseError(`unknown LIST option ${opt}`);
    }
    i++;
  }
  req.reference = astring(args[i++], 'reference');
  const pat = args[i++];
  req.patterns = pat?.t === 'list' ? pat.v.map((p) => astring(p)) : [astring(pat, 'mailbox pattern')];
  if (!lsub && args[i]?.t === 'atom' && (args[i] as { v: string }).v.toUpperCase() === 'RETURN') {
    const opts = list(args[i + 1], 'return options');
    for (let k = 0; k < opts.length; k++) {
      const opt = atom(opts[k], 'return option').toUpperCase();
      if (opt === 'SUBSCRIBED') req.returnSubscribed = true;
      else if (opt === 'SPECIAL-USE') req.returnSpecialUse = true;
      else if (opt === 'STATUS') req.status = statusItems(list(opts[++k], 'status items'));
      else if (opt !== 'CHILDREN') throw new ParseError(`unknown LIST return option ${opt}`);
    }
    i += 2;
  }
  expectEnd(args, i);
  return req;
}

async function runList(s: ImapSession, req: ListRequest): Promise<void> {
  const verb = req.lsub ? 'LSUB' : 'LIST';
  if (req.patterns.length === 1 && req.patterns[0] === '') {
    s.send(`* ${verb} (\\Noselect) "${DELIMITER}" ""`);
    return;
  }
  const boxes = await s.ctx.store.listMailboxes(s.user!);
  const names = new Set(boxes.map((b) => b.name));
  const regexes = req.patterns.map((p) => patternRegex(req.reference, p));
  const lines: string[] = [];
  for (const b of boxes) {
    if (!regexes.some((r) => r.test(b.name))) continue;
    if (req.subscribedOnly && !b.subscribed) continue;
    const attrs: string[] = [];
    if (!req.lsub) {
      const hasChildren = [...names].some((n) => n.startsWith(b.name + DELIMITER));
      attrs.push(hasChildren ? '\\HasChildren' : '\\HasNoChildren');
      if (b.specialUse) attrs.push(b.specialUse);
      if (req.returnSubscribed && b.subscribed) attrs.push('\\Subscribed');
    }
    lines.push(`* ${verb} (${attrs.join(' ')}) "${DELIMITER}" ${wireName(b.name)}`);
    if (req.status) lines.push(statusLine(b, req.status));
  }
  // built whole, then sent: a failure above leaves no half list behind
  if (lines.length) s.write(lines.join('\r\n') + '\r\n');
}

export const LIST: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    await runList(s, parseList(cmd.args, false));
    return 'LIST completed';
  },
};

export const LSUB: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    await runList(s, parseList(cmd.args, true));
    return 'LSUB completed';
  },
};
