// SEARCH and UID SEARCH, with ESEARCH result options (RFC 4731: RETURN (MIN MAX COUNT ALL)).
// The result is computed whole from the view, then sent in one piece. With IMAP4rev2 enabled every
// SEARCH answers in ESEARCH form (RFC 9051 6.4.4: no RETURN means RETURN (ALL); * SEARCH is gone).
import { MessageGoneError } from '../../../storage/errors.ts';
import { readAll } from '../../../storage/read-all.ts';
import type { MessageSummary } from '../../mime/index.ts';
import { SELECTED, type CommandSpec } from '../command.ts';
import { atom, ParseError, type ParsedCommand } from '../parser/tokens.ts';
import { evaluator, needsContent, parseSearch, usesModseq, type Candidate, type SearchKey } from '../search/search-keys.ts';
import { breathe, joinInSlices, RUN } from '../in-slices.ts';
import { formatSet } from '../sequence-set.ts';
import type { ImapSession } from '../session.ts';

/**
 * Indexes (into the view) of the messages that match, in order. Keys on content read each message
 * and wait their turn as heavy work; keys on metadata alone answer from the view, RUN messages at a
 * time (invariant 10: long work yields): a mailbox of a million is some 250 steps of a few ms each
 * instead of one stall of every session. A client that leaves stops the search.
 */
export async function matching(s: ImapSession, key: SearchKey, command: string): Promise<number[]> {
  const view = s.selected!;
  const test = evaluator(key, view.messages, (uid) => view.hasRecent && view.isRecent(uid));
  const content = needsContent(key);
  const run = async () => {
    const hits: number[] = [];
    const messages = view.messages;
    for (let i = 0; i < messages.length; i++) {
      if (!content && i > 0 && i % RUN === 0) await breathe();
      // after a wait (a slice's yield, the last message's read): nothing more for a client that left
      if ((content || i % RUN === 0) && s.isClosed) break;
      const meta = messages[i]!;
      const c: Candidate = { index: i, meta };
      if (content) {
        try {
          c.content = {
            raw: await readAll(s.ctx.store.readBody(meta.bodyId, undefined, undefined, s.user)),
            summary: (await s.ctx.store.readSummary(meta.bodyId, s.user)) as MessageSummary,
          };
        } catch (err) {
          if (err instanceof MessageGoneError) continue;
          throw err;
        }
      }
      if (test(c)) hits.push(i);
    }
    return hits;
  };
  return content ? s.heavy(command, run) : run();
}

const RETURN_OPTIONS = new Set(['MIN', 'MAX', 'COUNT', 'ALL']);

async function search(s: ImapSession, cmd: ParsedCommand, byUidSet: boolean): Promise<string> {
  const view = s.selected!;
  let args = cmd.args;
  let esearch: Set<string> | undefined;
  if (args[0]?.t === 'atom' && args[0].v.toUpperCase() === 'RETURN') {
    const opts = args[1]?.t === 'list' ? args[1].v : undefined;
    if (!opts) throw new ParseError('RETURN needs a list');
    esearch = new Set(opts.map((o) => atom(o, 'return option').toUpperCase()));
    for (const o of esearch) if (!RETURN_OPTIONS.has(o)) throw new ParseError(`unknown RETURN option ${o}`);
    if (esearch.size === 0) esearch = new Set(['ALL']);
    args = args.slice(2);
  }
  if (!esearch && s.rev2) esearch = new Set(['ALL']);
  const { key } = parseSearch(args);
  const matches = await matching(s, key, byUidSet ? 'UID SEARCH' : 'SEARCH');
  const hits = matches.map((i) => (byUidSet ? view.messages[i]!.uid : i + 1));
  const metaOf = (h: number) => (byUidSet ? view.messages[view.indexOfUid(h)]! : view.messages[h - 1]!);
  // RFC 7162 3.1.5: the highest mod-sequence of the messages the answer names — with only MIN
  // and/or MAX asked for, of those messages alone.
  const named = esearch && !esearch.has('ALL') && !esearch.has('COUNT')
    ? [...(esearch.has('MIN') ? hits.slice(0, 1) : []), ...(esearch.has('MAX') ? hits.slice(-1) : [])]
    : hits;
  let modseq: number | undefined;
  if (usesModseq(key)) {
    modseq = 0;
    for (const h of named) modseq = Math.max(modseq, metaOf(h).modseq);
  }
  if (esearch) {
    const parts = [`* ESEARCH (TAG "${cmd.tag}")${byUidSet ? ' UID' : ''}`];
    if (hits.length && esearch.has('MIN')) parts.push(`MIN ${hits[0]}`);
    if (hits.length && esearch.has('MAX')) parts.push(`MAX ${hits[hits.length - 1]}`);
    if (esearch.has('COUNT')) parts.push(`COUNT ${hits.length}`);
    if (hits.length && esearch.has('ALL')) parts.push(`ALL ${formatSet(hits)}`);
    if (modseq !== undefined && hits.length) parts.push(`MODSEQ ${modseq}`);
    s.send(parts.join(' '));
  } else {
    s.send(`* SEARCH${await joinInSlices(hits, (h) => ' ' + h)}${modseq !== undefined && hits.length ? ` (MODSEQ ${modseq})` : ''}`);
  }
  return `${byUidSet ? 'UID ' : ''}SEARCH completed`;
}

export const SEARCH: CommandSpec = { states: SELECTED, noExpunge: true, run: (s, cmd) => search(s, cmd, false) };
export const UID_SEARCH: CommandSpec = { states: SELECTED, run: (s, cmd) => search(s, cmd, true) };
