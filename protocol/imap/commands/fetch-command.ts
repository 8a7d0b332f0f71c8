// FETCH and UID FETCH: the plan (which messages, which items, CONDSTORE/QRESYNC), admission, and
// the side effects that come before the answer (VANISHED, \Seen). Metadata answers come from the
// session's view in memory; the rest is prepared (fetch/fetch-prepare.ts), rendered
// (fetch/fetch-render.ts) and streamed (fetch/fetch-writer.ts).
import { SEEN } from '../../../storage/flags.ts';
import { EXPUNGED_TEXT, ImapError, SELECTED, type CommandSpec } from '../command.ts';
import { parseFetchItems, type FetchItem } from '../fetch/fetch-items.ts';
import { needsSummary } from '../fetch/fetch-prepare.ts';
import { wholeMailboxMetaLines } from '../fetch/fetch-render.ts';
import { writeMessages, writeMetaLines } from '../fetch/fetch-writer.ts';
import { atom, ParseError, type ParsedCommand } from '../parser/tokens.ts';
import { byUid, bySequence, parseSequenceSet } from '../sequence-set.ts';
import type { ImapSession } from '../session.ts';
import { vanishedSince } from './select-commands.ts';

/** A metadata FETCH over more messages than this waits its turn like other heavy commands. */
const HEAVY_META_LINES = 2000;

/** Items whose answer reads message bytes, and so mark the message \Seen unless PEEK. */
const readsBody = (i: FetchItem): boolean => (i.kind === 'section' || (i.kind === 'binary' && !i.sizeOnly)) && !i.peek;

async function fetch(s: ImapSession, cmd: ParsedCommand, byUidSet: boolean): Promise<string> {
  const view = s.selected!;
  const set = parseSequenceSet(atom(cmd.args[0], 'sequence set'));
  const plan = parseFetchItems(cmd.args.slice(1));
  let items = plan.items;
  if (byUidSet && !items.some((i) => i.kind === 'UID')) items = [{ kind: 'UID' }, ...items];
  const withModseq = items.some((i) => i.kind === 'MODSEQ') || plan.changedSince !== undefined;
  if (withModseq) s.enableCondstore();
  let indexes = byUidSet ? byUid(set, view.messages) : bySequence(set, view.messages.length);
  if (plan.changedSince !== undefined) indexes = indexes.filter((i) => view.messages[i]!.modseq > plan.changedSince!);
  if (plan.vanished && (!byUidSet || !s.enabled.has('QRESYNC'))) throw new ParseError('VANISHED needs UID FETCH and ENABLE QRESYNC');
  const withSummary = needsSummary(items);
  const touchesStore = withSummary || items.some((i) => i.kind === 'section' || i.kind === 'binary');
  const name = byUidSet ? 'UID FETCH' : 'FETCH';
  // Admission first, side effects after: a refused FETCH has sent no VANISHED and set no \Seen.
  const admitted = <T>(work: () => Promise<T>) => (touchesStore || indexes.length > HEAVY_META_LINES ? s.heavy(name, work) : work());
  let gone = false;
  await admitted(async () => {
    if (plan.vanished) {
      const changes = await s.ctx.store.changesSince(s.user!, view.name, plan.changedSince!);
      const vanished = vanishedSince(view, changes, set);
      if (vanished) s.send(`* VANISHED (EARLIER) ${vanished}`);
    }
    // Reading a body without PEEK marks it \Seen (RFC 3501 6.4.5), and the client is told.
    if (!view.readOnly && items.some(readsBody)) {
      const unseen = indexes.map((i) => view.messages[i]!).filter((m) => !m.flags.includes(SEEN) && !view.ghosts.has(m.uid));
      if (unseen.length) {
        const r = await s.ctx.store.storeFlags(s.user!, view.name, unseen.map((m) => m.uid), 'add', [SEEN]);
        const announce = view.applyOwn(r.updated);
        if (announce.length) s.write(announce.join('\r\n') + '\r\n');
        if (!items.some((i) => i.kind === 'FLAGS')) items = [...items, { kind: 'FLAGS' }];
      }
    }
    if (touchesStore) gone = await writeMessages(s, view, indexes, items, withSummary, withModseq);
    // The shared rendering holds the store's flags: a session with \Recent messages renders its own.
    else if (view.isSharedSnapshot && !view.hasRecent && indexes.length === view.messages.length) {
      for (const chunk of await wholeMailboxMetaLines(view.messages, items, withModseq)) if (!s.write(chunk)) await s.drained();
    } else await writeMetaLines(s, view.messages, indexes, items, withModseq, (m) => view.flagsOf(m));
  });
  if (gone) throw new ImapError('NO', 'EXPUNGEISSUED', EXPUNGED_TEXT);
  return `${byUidSet ? 'UID ' : ''}FETCH completed`;
}

export const FETCH: CommandSpec = { states: SELECTED, noExpunge: true, run: (s, cmd) => fetch(s, cmd, false) };
export const UID_FETCH: CommandSpec = { states: SELECTED, run: (s, cmd) => fetch(s, cmd, true) };
