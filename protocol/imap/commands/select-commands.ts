// SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE.
// SELECT answers from one snapshot, built whole before the first line is written; if the store
// cannot answer, the client gets NO [UNAVAILABLE] and no state change it could see (invariant 2).
// With IMAP4rev2 enabled the answer takes RFC 9051's form (6.3.2): no RECENT and no UNSEEN code,
// but a LIST line naming the mailbox. With QRESYNC or IMAP4rev2, replacing a selected mailbox
// starts the answer with OK [CLOSED], the boundary between the old mailbox's responses and the new.
import { AUTHENTICATED, ImapError, SELECTED, type CommandSpec } from '../command.ts';
import { DELIMITER } from '../../../storage/mailbox-names.ts';
import type { ChangesSince } from '../../../storage/types.ts';
import { atom, list, ParseError, type Token } from '../parser/tokens.ts';
import { flagList } from '../responses.ts';
import { SelectedMailbox } from '../selected-mailbox.ts';
import { absentUids, byUid, formatRanges, formatSet, parseSequenceSet, setMembership, type SequenceSet } from '../sequence-set.ts';
import type { ImapSession } from '../session.ts';
import { mailboxArg, wireName } from './mailbox-commands.ts';

interface QresyncParams {
  uidValidity: number;
  modseq: number;
  known?: SequenceSet;
}

/** (CONDSTORE) and (QRESYNC (uidvalidity modseq [known-uids])) — RFC 7162. */
function selectParameters(s: ImapSession, params: readonly Token[]): QresyncParams | undefined {
  let qresync: QresyncParams | undefined;
  for (const p of params) {
    const opts = list(p, 'select parameters');
    for (let k = 0; k < opts.length; k++) {
      const o = atom(opts[k], 'select parameter').toUpperCase();
      if (o === 'CONDSTORE') s.enabled.add('CONDSTORE');
      else if (o === 'QRESYNC') {
        if (!s.enabled.has('QRESYNC')) throw new ImapError('BAD', undefined, 'ENABLE QRESYNC first');
        const q = list(opts[++k], 'QRESYNC parameters');
        const uidValidity = Number(atom(q[0], 'uidvalidity'));
        const modseq = Number(atom(q[1], 'modseq'));
        if (!Number.isInteger(uidValidity) || !Number.isInteger(modseq)) throw new ParseError('bad QRESYNC parameters');
        qresync = { uidValidity, modseq, known: q[2] ? parseSequenceSet(atom(q[2], 'known UIDs')) : undefined };
      } else throw new ParseError(`unknown SELECT parameter ${o}`);
    }
  }
  return qresync;
}

/**
 * The UIDs of `set` expunged since the client's modseq, as a set string ('' for none). When the
 * expunge log no longer reaches back that far, every UID of `set` that is not live is reported: more
 * than happened, never less, so the client's cache stays right.
 */
export function vanishedSince(view: SelectedMailbox, changes: ChangesSince, set: SequenceSet): string {
  if (!changes.complete) return formatRanges(absentUids(set, view.messages, view.uidNext));
  // "*" stands for a UID beyond any that ever was: every vanished UID is below uidNext
  return formatSet(changes.vanished.filter(setMembership(set, Infinity)));
}

/** What changed since the client's modseq: VANISHED (EARLIER) and FETCH lines (RFC 7162 3.2.5.1). */
export function resyncLines(view: SelectedMailbox, changes: ChangesSince, known?: SequenceSet): string[] {
  const vanished = vanishedSince(view, changes, known ?? [[1, Infinity]]);
  const lines = vanished ? [`* VANISHED (EARLIER) ${vanished}`] : [];
  for (const m of changes.changed) {
    const i = view.indexOfUid(m.uid);
    if (i >= 0) lines.push(`* ${i + 1} FETCH (UID ${m.uid} FLAGS ${flagList(m.flags)} MODSEQ (${m.modseq}))`);
  }
  return lines;
}

const open = (readOnly: boolean): CommandSpec => ({
  states: AUTHENTICATED,
  async run(s, cmd) {
    const name = mailboxArg(s, cmd.args[0]);
    const qresync = selectParameters(s, cmd.args.slice(1));
    // RFC 7162 3.2.11 / RFC 9051 7.1: told only once the new mailbox is open; a failed SELECT's NO
    // already says that nothing is selected.
    const closed = s.selected !== undefined && (s.rev2 || s.enabled.has('QRESYNC'));
    // RFC 3501: a failed SELECT leaves no mailbox selected.
    s.deselect();
    // Everything the answer needs is read before its first line is written (invariant 2).
    const { view, changes } = await s.heavy(readOnly ? 'EXAMINE' : 'SELECT', async () => {
      const v = await SelectedMailbox.open(s.ctx.store, s.user!, name, readOnly, () => s.notify());
      try {
        const c = qresync && qresync.uidValidity === v.uidValidity ? await s.ctx.store.changesSince(s.user!, name, qresync.modseq) : undefined;
        return { view: v, changes: c };
      } catch (err) {
        v.close();
        throw err;
      }
    });
    // Every figure below is kept running by the store: nothing here walks the messages.
    const rev2 = s.rev2;
    view.showRecent = !rev2;
    const lines = [
      ...(closed ? ['* OK [CLOSED] previous mailbox is now closed'] : []),
      ...view.flagLines(),
      `* ${view.messages.length} EXISTS`,
      ...(rev2 ? [`* LIST (${view.specialUse ?? ''}) "${DELIMITER}" ${wireName(s, view.name)}`] : [`* ${view.recentCount} RECENT`]),
      ...(view.firstUnseen && !rev2 ? [`* OK [UNSEEN ${view.firstUnseen}] first unseen`] : []),
      `* OK [UIDVALIDITY ${view.uidValidity}] UIDs valid`,
      `* OK [UIDNEXT ${view.uidNext}] predicted next UID`,
      `* OK [HIGHESTMODSEQ ${view.highestModseq}] highest modseq`,
      ...(changes ? resyncLines(view, changes, qresync!.known) : []),
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
