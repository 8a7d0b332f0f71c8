// FETCH of every message's metadata and SEARCH walk the whole mailbox, and SORT and THREAD order
// what SEARCH found. On a large mailbox they give the event loop back as they go (invariant 10: long
// work yields), or every other session waits for them — `UID SEARCH UID 1:*` on a million messages held the loop for 0.8 s, SORT (DATE) on
// 100,000 for some 150 ms. Sequence and UID sets are membership tests over their ranges, never a set
// of every message they name (that set alone was 40 MB on a million).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matching } from '../../protocol/imap/commands/search-command.ts';
import { metaLine, wholeMailboxMetaLines } from '../../protocol/imap/fetch/fetch-render.ts';
import { tokenize } from '../../protocol/imap/parser/tokens.ts';
import { evaluator, parseSearch } from '../../protocol/imap/search/search-keys.ts';
import { joinInSlices, RUN, sortInSlices } from '../../protocol/imap/in-slices.ts';
import { orderedSubject, references, type ThreadInput } from '../../protocol/imap/sort/threads.ts';
import { byUid, bySequence, formatRanges, type SequenceSet } from '../../protocol/imap/sequence-set.ts';
import type { ImapSession } from '../../protocol/imap/session.ts';
import type { MessageMeta } from '../../storage/types.ts';

const meta = (uid: number, seen: boolean): MessageMeta =>
  ({ uid, flags: seen ? ['\\Seen'] : [], size: 100, modseq: uid, internalDate: 0, bodyId: `b${uid}` }) as unknown as MessageMeta;

const key = (text: string) => parseSearch(tokenize([{ text }])).key;

/** Just what a search on metadata asks of its session: the selected view, and whether the client left. */
function sessionOver(messages: readonly MessageMeta[], closed = () => false): ImapSession {
  return {
    selected: { messages, hasRecent: false, isRecent: () => false },
    get isClosed() {
      return closed();
    },
  } as unknown as ImapSession;
}

describe('SEARCH on a large mailbox', () => {
  const big = Array.from({ length: 100_000 }, (_, i) => meta(2 * i + 1, i % 3 !== 0));

  it('lets other work run before it answers, and answers in full', async () => {
    let otherRan = false;
    const search = matching(sessionOver(big), key('UID 1:* UNSEEN'), 'UID SEARCH');
    // queued after the search began: a walk that never yields answers before this runs
    setImmediate(() => (otherRan = true));
    const hits = await search;
    expect(otherRan).toBe(true);
    expect(hits.length).toBe(big.filter((m) => m.flags.length === 0).length);
    expect(hits.slice(0, 3)).toEqual([0, 3, 6]);
  });

  it('stops walking once the client has left', async () => {
    let closed = false;
    const search = matching(sessionOver(big, () => closed), key('ALL'), 'SEARCH');
    closed = true;
    expect((await search).length).toBeLessThan(big.length);
  });
});

describe('sequence and UID sets in SEARCH', () => {
  const bound = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant(Infinity));
  const sets = fc.array(fc.tuple(bound, bound), { minLength: 1, maxLength: 4 }) as fc.Arbitrary<SequenceSet>;
  const views = fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 25 })
    .map((uids) => uids.sort((a, b) => a - b).map((u) => meta(u, false)));
  const token = (set: SequenceSet) => formatRanges(set).replace(/Infinity/g, '*');

  it('name exactly the messages that FETCH, STORE and COPY resolve them to', () => {
    fc.assert(fc.property(views, sets, (view, set) => {
      const hits = (text: string) => {
        const test = evaluator(key(text), view);
        return view.flatMap((m, index) => (test({ index, meta: m }) ? [index] : []));
      };
      expect(hits(token(set))).toEqual(bySequence(set, view.length));
      expect(hits(`UID ${token(set)}`)).toEqual(byUid(set, view));
    }));
  });
});

describe('joining an answer in slices', () => {
  it('lets other work run before it is done, and joins as Array.prototype.join does', async () => {
    let otherRan = false;
    const nums = Array.from({ length: 3 * RUN + 1 }, (_, i) => 2 * i + 1);
    const joining = joinInSlices(nums, (n) => ' ' + n);
    setImmediate(() => (otherRan = true));
    expect(await joining).toBe(nums.map((n) => ' ' + n).join(''));
    expect(otherRan).toBe(true);
  });
});

describe('sorting in slices', () => {
  it('lets other work run before it is done', async () => {
    let otherRan = false;
    const items = Array.from({ length: 4 * RUN + 7 }, (_, i) => (i * 7919) % 10_007);
    const sorting = sortInSlices(items, (a, b) => a - b);
    setImmediate(() => (otherRan = true));
    const sorted = await sorting;
    expect(otherRan).toBe(true);
    expect(sorted).toEqual([...items].sort((a, b) => a - b));
  });

  it('orders as Array.prototype.sort does, equal items in their first order', async () => {
    // longer than one run, with many equal keys: what is checked is the merging
    const keys = fc.array(fc.integer({ min: 0, max: 20 }), { minLength: RUN + 1, maxLength: 3 * RUN, size: 'max' });
    await fc.assert(fc.asyncProperty(keys, async (keys) => {
      const items = keys.map((k, at) => ({ k, at }));
      const byKey = (a: { k: number }, b: { k: number }) => a.k - b.k;
      expect(await sortInSlices(items, byKey)).toEqual([...items].sort(byKey));
    }), { numRuns: 30 });
  });
});

describe('THREAD on many messages', () => {
  // conversations of four, each reply referring to the one before it
  const input: ThreadInput[] = Array.from({ length: 3 * RUN }, (_, i) => ({
    n: i + 1,
    sent: i,
    f: {
      sent: i, subject: `topic ${Math.floor(i / 4)}`, reply: i % 4 > 0, from: '', to: '', cc: '', displayFrom: '', displayTo: '',
      messageId: `<m${i}@x>`, references: i % 4 ? [`<m${i - 1}@x>`] : [],
    },
  }));

  for (const [name, algorithm] of [['ORDEREDSUBJECT', orderedSubject], ['REFERENCES', references]] as const) {
    it(`${name} lets other work run before it answers`, async () => {
      let otherRan = false;
      const threading = algorithm(input);
      setImmediate(() => (otherRan = true));
      const threads = await threading;
      expect(otherRan).toBe(true);
      expect(threads.startsWith(name === 'REFERENCES' ? '(1 2 3 4)(5 6 7 8)' : '(1 (2)(3)(4))(5 (6)(7)(8))')).toBe(true);
    });
  }
});

describe('FETCH 1:* of metadata from a shared snapshot', () => {
  const messages = Array.from({ length: 20_000 }, (_, i) => meta(i + 1, i % 2 === 0));
  const items = [{ kind: 'UID' }, { kind: 'FLAGS' }] as const;

  it('is rendered in slices, once for every session that asks meanwhile, line for line as alone', async () => {
    let otherRan = false;
    const first = wholeMailboxMetaLines(messages, items, false);
    const second = wholeMailboxMetaLines(messages, items, false);
    setImmediate(() => (otherRan = true));
    const chunks = await first;
    expect(otherRan).toBe(true);
    expect(await second).toBe(chunks);
    const alone = messages.map((m, i) => metaLine(i + 1, m, items, false, (x) => x.flags)).join('');
    expect(Buffer.concat(chunks).toString('latin1')).toBe(alone);
  });
});
