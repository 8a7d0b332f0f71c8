// STORE and UID STORE, with .SILENT and UNCHANGEDSINCE (RFC 7162): the changes are applied to the
// session's view at once and answered with FETCH FLAGS; messages changed since the client's modseq
// are left alone and listed in [MODIFIED …].
import type { FlagMode } from '../../../storage/types.ts';
import { ImapError, SELECTED, type CommandSpec } from '../command.ts';
import { atom, ParseError, type ParsedCommand, type Token } from '../parser/tokens.ts';
import { flagList } from '../responses.ts';
import { byUid, bySequence, formatSet, parseSequenceSet } from '../sequence-set.ts';
import type { ImapSession } from '../session.ts';

function flagArgs(toks: readonly Token[]): string[] {
  const flat = toks.length === 1 && toks[0]!.t === 'list' ? toks[0]!.v : toks;
  return flat.map((t) => {
    const f = atom(t, 'flag');
    if (f.startsWith('\\') && !/^\\(Seen|Answered|Flagged|Deleted|Draft)$/i.test(f)) throw new ParseError(`cannot store flag ${f}`);
    return f;
  });
}

async function store(s: ImapSession, cmd: ParsedCommand, byUidSet: boolean): Promise<string> {
  const view = s.selected!;
  if (view.readOnly) throw new ImapError('NO', 'READ-ONLY', 'mailbox is read-only');
  const set = parseSequenceSet(atom(cmd.args[0], 'sequence set'));
  let i = 1;
  let unchangedSince: number | undefined;
  if (cmd.args[1]?.t === 'list') {
    const mods = cmd.args[1].v;
    if (mods.length !== 2 || atom(mods[0]).toUpperCase() !== 'UNCHANGEDSINCE') throw new ParseError('bad STORE modifier');
    unchangedSince = Number(atom(mods[1]));
    if (!Number.isInteger(unchangedSince) || unchangedSince < 0) throw new ParseError('bad UNCHANGEDSINCE');
    s.enableCondstore();
    i = 2;
  }
  const m = /^([+-]?)FLAGS(\.SILENT)?$/i.exec(atom(cmd.args[i], 'STORE item'));
  if (!m) throw new ParseError('STORE item must be FLAGS, +FLAGS or -FLAGS');
  const mode: FlagMode = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'set';
  const silent = !!m[2];
  const flags = flagArgs(cmd.args.slice(i + 1));
  const indexes = byUidSet ? byUid(set, view.messages) : bySequence(set, view.messages.length);
  const uids = indexes.map((k) => view.messages[k]!.uid).filter((u) => !view.ghosts.has(u));
  const r = await s.ctx.store.storeFlags(s.user!, view.name, uids, mode, flags, { unchangedSince });
  // New keywords are announced first, .SILENT or not: the client must know them before it sees them.
  const lines = view.applyOwn(r.updated);
  const condstore = s.enabled.has('CONDSTORE');
  if (!silent || condstore) {
    for (const meta of r.updated) {
      const k = view.indexOfUid(meta.uid);
      if (k < 0) continue;
      const parts = [...(byUidSet ? [`UID ${meta.uid}`] : []), ...(silent ? [] : [`FLAGS ${flagList(view.flagsOf(meta))}`]), ...(condstore ? [`MODSEQ (${meta.modseq})`] : [])];
      lines.push(`* ${k + 1} FETCH (${parts.join(' ')})`);
    }
  }
  if (lines.length) s.write(lines.join('\r\n') + '\r\n');
  const modified = byUidSet ? r.modified : r.modified.map((u) => view.indexOfUid(u) + 1);
  return `${modified.length ? `[MODIFIED ${formatSet(modified)}] ` : ''}${byUidSet ? 'UID ' : ''}STORE completed`;
}

export const STORE: CommandSpec = { states: SELECTED, noExpunge: true, run: (s, cmd) => store(s, cmd, false) };
export const UID_STORE: CommandSpec = { states: SELECTED, run: (s, cmd) => store(s, cmd, true) };
