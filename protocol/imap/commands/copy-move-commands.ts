// COPY, MOVE and their UID forms, with UIDPLUS COPYUID (RFC 4315) and MOVE (RFC 6851).
import { MailboxNotFoundError, PartialMoveError } from '../../../storage/errors.ts';
import type { CopyResult } from '../../../storage/types.ts';
import { ImapError, SELECTED, type CommandSpec } from '../command.ts';
import { atom, expectEnd, type ParsedCommand } from '../parser/tokens.ts';
import { byUid, bySequence, formatSet, parseSequenceSet } from '../sequence-set.ts';
import type { ImapSession } from '../session.ts';
import { mailboxArg } from './mailbox-commands.ts';

const copyUid = (r: CopyResult): string =>
  r.mapping.length ? `[COPYUID ${r.uidValidity} ${formatSet(r.mapping.map(([a]) => a))} ${formatSet(r.mapping.map(([, b]) => b))}] ` : '';

async function transfer(s: ImapSession, cmd: ParsedCommand, byUidSet: boolean, move: boolean): Promise<string> {
  expectEnd(cmd.args, 2);
  const view = s.selected!;
  if (move && view.readOnly) throw new ImapError('NO', 'READ-ONLY', 'mailbox is read-only');
  const set = parseSequenceSet(atom(cmd.args[0], 'sequence set'));
  const target = mailboxArg(s, cmd.args[1]);
  const indexes = byUidSet ? byUid(set, view.messages) : bySequence(set, view.messages.length);
  const uids = indexes.map((i) => view.messages[i]!.uid);
  const verb = `${byUidSet ? 'UID ' : ''}${move ? 'MOVE' : 'COPY'}`;
  let r: CopyResult;
  try {
    r = await s.ctx.store[move ? 'move' : 'copy'](s.user!, view.name, uids, target);
  } catch (err) {
    if (err instanceof MailboxNotFoundError) throw new ImapError('NO', 'TRYCREATE', 'no such mailbox');
    // Part of a large move went through: the client learns where those messages are now, then why
    // the rest stayed.
    if (err instanceof PartialMoveError) {
      announceMoved(s, err.done);
      throw err.cause;
    }
    throw err;
  }
  if (!move) return `${copyUid(r)}${verb} completed`;
  announceMoved(s, r);
  return `${verb} completed`;
}

/** RFC 6851: COPYUID goes in an untagged OK before the EXPUNGEs the move causes. */
function announceMoved(s: ImapSession, r: CopyResult): void {
  if (r.mapping.length) s.send(`* OK ${copyUid(r)}moved`);
}

export const COPY: CommandSpec = { states: SELECTED, run: (s, cmd) => transfer(s, cmd, false, false) };
export const UID_COPY: CommandSpec = { states: SELECTED, run: (s, cmd) => transfer(s, cmd, true, false) };
export const MOVE: CommandSpec = { states: SELECTED, run: (s, cmd) => transfer(s, cmd, false, true) };
export const UID_MOVE: CommandSpec = { states: SELECTED, run: (s, cmd) => transfer(s, cmd, true, true) };
