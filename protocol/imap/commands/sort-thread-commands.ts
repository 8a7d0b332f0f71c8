// SORT and THREAD (RFC 5256), UID SORT and UID THREAD, with SORT=DISPLAY (RFC 5957) and ESORT's
// RETURN options (RFC 5267). The messages are chosen by the search criteria (search-command.ts),
// then ordered or threaded on fields of the MIME summary stored at delivery (sort/sort-fields.ts),
// read once per body and cached; the answer is built whole, then sent.
import { MessageGoneError } from '../../../storage/errors.ts';
import type { MessageMeta } from '../../../storage/types.ts';
import type { MessageSummary } from '../../mime/index.ts';
import { SELECTED, type CommandSpec } from '../command.ts';
import { atom, list, ParseError, type ParsedCommand, type Token } from '../parser/tokens.ts';
import { SearchParser, checkCharset } from '../search/search-keys.ts';
import { formatSet } from '../sequence-set.ts';
import type { ImapSession } from '../session.ts';
import { fieldCache, remember, sentDate, sortFields, type SortFields } from '../sort/sort-fields.ts';
import { joinInSlices, mapInSlices, sortInSlices } from '../in-slices.ts';
import { orderedSubject, references, type ThreadInput } from '../sort/threads.ts';
import { matching } from './search-command.ts';

type Criterion = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
const CRITERIA = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);
/** Criteria the index alone answers; the others need the stored summary. */
const FROM_INDEX = new Set<string>(['ARRIVAL', 'SIZE']);
const RETURN_OPTIONS = new Set(['MIN', 'MAX', 'COUNT', 'ALL']);
/** Summaries read at once when they are not cached yet. */
const READ_BATCH = 256;

interface Entry {
  index: number;
  meta: MessageMeta;
  f: SortFields;
}

const NO_FIELDS: SortFields = {
  sent: NaN, subject: '', reply: false, from: '', to: '', cc: '', displayFrom: '', displayTo: '', messageId: undefined, references: [],
};

/** The sort fields of each message, from the cache or the store; a message reclaimed meanwhile is left out. */
async function fieldsOf(s: ImapSession, indexes: readonly number[]): Promise<Entry[]> {
  const view = s.selected!;
  const cache = fieldCache(s.ctx.store);
  const out: (Entry | undefined)[] = await mapInSlices(indexes, (index) => {
    const meta = view.messages[index]!;
    const f = cache.get(meta.bodyId);
    return f ? { index, meta, f } : undefined;
  });
  const missing = out.flatMap((e, k) => (e ? [] : [k]));
  for (let i = 0; i < missing.length; i += READ_BATCH) {
    await Promise.all(missing.slice(i, i + READ_BATCH).map(async (k) => {
      const index = indexes[k]!;
      const meta = view.messages[index]!;
      try {
        const summary = (await s.ctx.store.readSummary(meta.bodyId, s.user)) as MessageSummary | undefined;
        const f = summary ? sortFields(summary) : NO_FIELDS;
        if (summary) remember(cache, meta.bodyId, f);
        out[k] = { index, meta, f };
      } catch (err) {
        if (!(err instanceof MessageGoneError)) throw err;
      }
    }));
  }
  return out.filter((e): e is Entry => e !== undefined);
}

/** The value a criterion compares, computed once per message before sorting. */
function sortKey(c: Criterion, e: Entry): number | string {
  switch (c) {
    case 'ARRIVAL': return e.meta.internalDate;
    case 'SIZE': return e.meta.size;
    case 'DATE': return sentDate(e.f, e.meta);
    case 'SUBJECT': return e.f.subject;
    case 'FROM': return e.f.from;
    case 'TO': return e.f.to;
    case 'CC': return e.f.cc;
    case 'DISPLAYFROM': return e.f.displayFrom;
    case 'DISPLAYTO': return e.f.displayTo;
  }
}

/**
 * Orders entries by the criteria, the mailbox order breaking the last tie (RFC 5256 3), in slices
 * that give the event loop back (in-slices.ts).
 */
async function sortEntries(entries: Entry[], criteria: readonly { c: Criterion; reverse: boolean }[]): Promise<Entry[]> {
  const keyed = await mapInSlices(entries, (e) => ({ e, k: criteria.map((c) => sortKey(c.c, e)) }));
  const sorted = await sortInSlices(keyed, (a, b) => {
    for (let i = 0; i < criteria.length; i++) {
      const x = a.k[i]!;
      const y = b.k[i]!;
      if (x === y) continue;
      const d = x < y ? -1 : 1;
      return criteria[i]!.reverse ? -d : d;
    }
    return a.e.index - b.e.index;
  });
  return sorted.map((x) => x.e);
}

/** (REVERSE DATE SUBJECT …) → comparators in order; the mailbox order breaks the last tie (RFC 5256 3). */
function parseCriteria(tok: Token | undefined): { c: Criterion; reverse: boolean }[] {
  const out: { c: Criterion; reverse: boolean }[] = [];
  let reverse = false;
  for (const t of list(tok, 'sort criteria')) {
    const name = atom(t, 'sort criterion').toUpperCase();
    if (name === 'REVERSE') {
      if (reverse) throw new ParseError('REVERSE twice');
      reverse = true;
      continue;
    }
    if (!CRITERIA.has(name)) throw new ParseError(`unknown sort criterion ${name.slice(0, 32)}`);
    out.push({ c: name as Criterion, reverse });
    reverse = false;
  }
  if (reverse || out.length === 0) throw new ParseError('sort criteria must name a key');
  return out;
}

/** `charset search-criteria` of SORT and THREAD (the charset is not optional there). */
function criteriaAfter(args: readonly Token[], from: number) {
  const c = args[from];
  if (!c || c.t === 'list') throw new ParseError('missing charset');
  const charset = checkCharset(c.t === 'literal' ? c.v.toString() : c.v);
  return new SearchParser(args.slice(from + 1), charset).parseAll();
}

async function sort(s: ImapSession, cmd: ParsedCommand, byUid: boolean): Promise<string> {
  let args = cmd.args;
  let esort: Set<string> | undefined;
  if (args[0]?.t === 'atom' && args[0].v.toUpperCase() === 'RETURN') {
    esort = new Set(list(args[1], 'RETURN options').map((o) => atom(o, 'return option').toUpperCase()));
    for (const o of esort) if (!RETURN_OPTIONS.has(o)) throw new ParseError(`unknown RETURN option ${o}`);
    if (esort.size === 0) esort = new Set(['ALL']);
    args = args.slice(2);
  }
  const criteria = parseCriteria(args[0]);
  const key = criteriaAfter(args, 1);
  const name = byUid ? 'UID SORT' : 'SORT';
  const view = s.selected!;
  const indexes = await matching(s, key, name);
  // a client that left mid-search is owed nothing more: no summaries read, nothing sorted
  if (s.isClosed) return `${name} completed`;
  let entries: Entry[];
  if (criteria.every((k) => FROM_INDEX.has(k.c))) entries = await mapInSlices(indexes, (index) => ({ index, meta: view.messages[index]!, f: NO_FIELDS }));
  else entries = await s.heavy(name, () => fieldsOf(s, indexes));
  entries = await sortEntries(entries, criteria);
  const nums = entries.map((e) => (byUid ? e.meta.uid : e.index + 1));
  if (esort) {
    const parts = [`* ESEARCH (TAG "${cmd.tag}")${byUid ? ' UID' : ''}`];
    if (nums.length && esort.has('MIN')) parts.push(`MIN ${nums[0]}`);
    if (nums.length && esort.has('MAX')) parts.push(`MAX ${nums[nums.length - 1]}`);
    if (esort.has('COUNT')) parts.push(`COUNT ${nums.length}`);
    if (nums.length && esort.has('ALL')) parts.push(`ALL ${formatSet(nums)}`);
    s.send(parts.join(' '));
  } else s.send(`* SORT${await joinInSlices(nums, (n) => ' ' + n)}`);
  return `${name} completed`;
}

const ALGORITHMS: Record<string, (input: readonly ThreadInput[]) => Promise<string>> = { ORDEREDSUBJECT: orderedSubject, REFERENCES: references };

async function thread(s: ImapSession, cmd: ParsedCommand, byUid: boolean): Promise<string> {
  const algorithm = ALGORITHMS[atom(cmd.args[0], 'threading algorithm').toUpperCase()];
  if (!algorithm) throw new ParseError('unknown threading algorithm');
  const key = criteriaAfter(cmd.args, 1);
  const name = byUid ? 'UID THREAD' : 'THREAD';
  const indexes = await matching(s, key, name);
  if (s.isClosed) return `${name} completed`;
  const entries = await s.heavy(name, () => fieldsOf(s, indexes));
  const input = entries.map((e) => ({ n: byUid ? e.meta.uid : e.index + 1, sent: sentDate(e.f, e.meta), f: e.f }));
  s.send(`* THREAD ${await algorithm(input)}`.trimEnd());
  return `${name} completed`;
}

// By sequence number the view must not shift under the answer (RFC 3501 7.4.1), as for SEARCH.
export const SORT: CommandSpec = { states: SELECTED, noExpunge: true, run: (s, cmd) => sort(s, cmd, false) };
export const UID_SORT: CommandSpec = { states: SELECTED, run: (s, cmd) => sort(s, cmd, true) };
export const THREAD: CommandSpec = { states: SELECTED, noExpunge: true, run: (s, cmd) => thread(s, cmd, false) };
export const UID_THREAD: CommandSpec = { states: SELECTED, run: (s, cmd) => thread(s, cmd, true) };
