// SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE.
// SELECT answers from one snapshot, built whole before the first line is written; if the store
// cannot answer, the client gets NO [UNAVAILABLE] and no state change it could see (invariant 2).
import { AUTHENTICATED, ImapError, SELECTED, type CommandSpec } from '../command.ts';
import { atom, list, ParseError } from '../parser/tokens.ts';
import { flagList } from '../responses.ts';
import { SelectedMailbox } from '../selected-mailbox.ts';
import { byUid, parseSequenceSet } from '../sequence-set.ts';
import type { ImapSession } from '../session.ts';
import { mailboxArg } from './mailbox-commands.ts';

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

const open = (readOnly: boolean): CommandSpec => ({
  states: AUTHENTICATED,
  async run(s, cmd) {
    const name = mailboxArg(cmd.args[0]);
    for (const p of cmd.args.slice(1)) {
      for (const opt of list(p, 'select parameters')) {
        const o = opt.t === 'atom' ? opt.v.toUpperCase() : '';
        if (o === 'CONDSTORE') s.enabled.add('CONDSTORE');
        else if (opt.t !== 'list') throw new ParseError(`unknown SELECT parameter ${o}`);
      }
    }
    // RFC 3501: a failed SELECT leaves no mailbox selected.
    s.deselect();
    const view = await s.heavy(readOnly ? 'EXAMINE' : 'SELECT', () =>
      SelectedMailbox.open(s.ctx.store, s.user!, name, readOnly, () => s.notify()),
    );
    const keywords = new Set<string>();
    let firstUnseen = 0;
    view.messages.forEach((m, i) => {
      for (const f of m.flags) if (!f.startsWith('\\')) keywords.add(f);
      if (!firstUnseen && !m.flags.includes('\\Seen')) firstUnseen = i + 1;
    });
    const flags = [...SYSTEM_FLAGS, ...keywords];
    const lines = [
      `* FLAGS ${flagList(flags)}`,
      `* OK [PERMANENTFLAGS ${readOnly ? '()' : flagList([...flags, '\\*'])}] flags permitted`,
      `* ${view.messages.length} EXISTS`,
      '* 0 RECENT',
      ...(firstUnseen ? [`* OK [UNSEEN ${firstUnseen}] first unseen`] : []),
      `* OK [UIDVALIDITY ${view.uidValidity}] UIDs valid`,
      `* OK [UIDNEXT ${view.uidNext}] predicted next UID`,
      `* OK [HIGHESTMODSEQ ${view.highestModseq}] highest modseq`,
    ];
    s.write(lines.join('\r\n') + '\r\n');
    s.selected = view;
    s.state = 'selected';
    return `[${readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${readOnly ? 'EXAMINE' : 'SELECT'} completed`;
  },
});

export const SELECT = open(false);
export const EXAMINE = open(true);

export const UNSELECT: CommandSpec = {
  states: SELECTED,
  async run(s) {
    s.deselect();
    return 'UNSELECT completed';
  },
};

/** Expunges the \Deleted messages (of `uids`, when given) of the selected mailbox. */
async function expungeDeleted(s: ImapSession, uids?: Set<number>): Promise<void> {
  const view = s.selected!;
  if (view.readOnly) throw new ImapError('NO', 'READ-ONLY', 'mailbox is read-only');
  const doomed = view.messages.filter((m) => m.flags.includes('\\Deleted') && (!uids || uids.has(m.uid))).map((m) => m.uid);
  if (doomed.length) await s.ctx.store.expunge(s.user!, view.name, doomed);
}

export const CLOSE: CommandSpec = {
  states: SELECTED,
  async run(s) {
    if (!s.selected!.readOnly) await expungeDeleted(s);
    s.deselect();
    return 'CLOSE completed';
  },
};

export const EXPUNGE: CommandSpec = {
  states: SELECTED,
  async run(s) {
    await expungeDeleted(s);
    return 'EXPUNGE completed';
  },
};

export const UID_EXPUNGE: CommandSpec = {
  states: SELECTED,
  async run(s, cmd) {
    const set = parseSequenceSet(atom(cmd.args[0], 'UID set'));
    const view = s.selected!;
    await expungeDeleted(s, new Set(byUid(set, view.messages).map((i) => view.messages[i]!.uid)));
    return 'UID EXPUNGE completed';
  },
};
