// Mailbox management: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS (with STATUS=SIZE and
// IMAP4rev2's DELETED), NAMESPACE (LIST and LSUB: list-command.ts). Names travel as modified UTF-7,
// or UTF-8 once IMAP4rev2 is on.
import { DELIMITER, INBOX, normalizeMailboxName } from '../../../storage/mailbox-names.ts';
import type { MailboxInfo } from '../../../storage/types.ts';
import { AUTHENTICATED, ImapError, type CommandSpec } from '../command.ts';
import { mailboxFromWire, mailboxToWire } from '../mailbox-name.ts';
import { astring, atom, expectEnd, list, ParseError, utf8String, type Token } from '../parser/tokens.ts';
import type { ImapSession } from '../session.ts';

/** A name or pattern argument as text: UTF-8 in IMAP4rev2, modified UTF-7 (ASCII) in rev1. */
export const nameText = (s: ImapSession, tok: Token | undefined, what: string): string => (s.rev2 ? utf8String(tok, what) : astring(tok, what));

export const mailboxArg = (s: ImapSession, tok: Token | undefined): string =>
  normalizeMailboxName(mailboxFromWire(nameText(s, tok, 'mailbox name'), s.rev2));
export const wireName = (s: ImapSession, name: string): string => mailboxToWire(name, s.rev2);

export const CREATE: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 1);
    const name = mailboxArg(s, cmd.args[0]).replace(/\/$/, '');
    if (name === INBOX) throw new ImapError('NO', 'ALREADYEXISTS', 'INBOX always exists');
    await s.ctx.store.createMailbox(s.user!, name);
    return 'CREATE completed';
  },
};

export const DELETE: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 1);
    const name = mailboxArg(s, cmd.args[0]);
    if (s.selected?.name === name) s.deselect();
    await s.ctx.store.deleteMailbox(s.user!, name);
    return 'DELETE completed';
  },
};

export const RENAME: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 2);
    await s.ctx.store.renameMailbox(s.user!, mailboxArg(s, cmd.args[0]), mailboxArg(s, cmd.args[1]));
    return 'RENAME completed';
  },
};

const subscription = (on: boolean): CommandSpec => ({
  states: AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 1);
    await s.ctx.store.setSubscribed(s.user!, mailboxArg(s, cmd.args[0]), on);
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

// SIZE: RFC 8438 (STATUS=SIZE); DELETED: RFC 9051. Both need the messages themselves, not just the
// mailbox's counters, so asking for them costs a snapshot.
export const STATUS_ITEMS = ['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ', 'SIZE', 'DELETED'] as const;
export type StatusItem = (typeof STATUS_ITEMS)[number];

/** What STATUS SIZE and DELETED count, from a snapshot of the mailbox. */
interface MessageTotals {
  size: number;
  deleted: number;
}

export function statusItems(tokens: readonly Token[]): StatusItem[] {
  return tokens.map((t) => {
    const item = atom(t, 'status item').toUpperCase();
    if (!(STATUS_ITEMS as readonly string[]).includes(item)) throw new ParseError(`unknown STATUS item ${item}`);
    return item as StatusItem;
  });
}

export async function messageTotals(s: ImapSession, name: string, items: readonly StatusItem[]): Promise<MessageTotals | undefined> {
  if (!items.includes('SIZE') && !items.includes('DELETED')) return undefined;
  const snap = await s.ctx.store.snapshot(s.user!, name);
  const totals: MessageTotals = { size: 0, deleted: 0 };
  for (const m of snap.messages) {
    totals.size += m.size;
    if (m.flags.includes('\\Deleted')) totals.deleted++;
  }
  return totals;
}

export function statusLine(s: ImapSession, info: MailboxInfo, items: readonly StatusItem[], totals?: MessageTotals): string {
  const value = (i: StatusItem): number => {
    switch (i) {
      case 'MESSAGES': return info.messages;
      case 'RECENT': return info.recent ?? 0;
      case 'UIDNEXT': return info.uidNext;
      case 'UIDVALIDITY': return info.uidValidity;
      case 'UNSEEN': return info.unseen;
      case 'HIGHESTMODSEQ': return info.highestModseq;
      case 'SIZE': return totals!.size;
      case 'DELETED': return totals!.deleted;
    }
  };
  return `* STATUS ${wireName(s, info.name)} (${items.map((i) => `${i} ${value(i)}`).join(' ')})`;
}

export const STATUS: CommandSpec = {
  states: AUTHENTICATED,
  async run(s, cmd) {
    expectEnd(cmd.args, 2);
    const name = mailboxArg(s, cmd.args[0]);
    const items = statusItems(list(cmd.args[1], 'status items'));
    const { info, totals } = await s.heavy('STATUS', async () => {
      const i = await s.ctx.store.getMailbox(s.user!, name);
      return { info: i, totals: i ? await messageTotals(s, name, items) : undefined };
    });
    if (!info) throw new ImapError('NO', 'NONEXISTENT', 'no such mailbox');
    s.send(statusLine(s, info, items, totals));
    return 'STATUS completed';
  },
};
