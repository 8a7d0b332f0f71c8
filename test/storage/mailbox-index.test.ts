// The in-memory index every listing comes from: removing messages must leave exactly the others,
// in order, keep the unseen count true, and never change a snapshot handed out before. The figures
// SELECT reports (unseen, first unseen, recent, keywords) are running ones: after any sequence of
// changes they equal what a scan of the messages would say.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MailboxIndex } from '../../storage/engine/mailbox-index.ts';
import type { MessageMeta } from '../../storage/types.ts';

const meta = (uid: number, seen: boolean): MessageMeta => ({
  uid, size: 10, internalDate: 0, flags: seen ? ['\\Seen'] : [], modseq: uid, uidl: `1.${uid}`, bodyId: `b${uid}`,
});

describe('mailbox index', () => {
  it('removes exactly the named messages, whatever their order, and leaves earlier snapshots alone', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 300 }), { maxLength: 120 }),
        fc.array(fc.boolean(), { minLength: 120, maxLength: 120 }),
        fc.array(fc.integer({ min: 0, max: 310 }), { maxLength: 60 }),
        fc.boolean(),
        (uids, seen, removeUids, snapshotFirst) => {
          const metas = [...uids].sort((a, b) => a - b).map((u, i) => meta(u, seen[i]!));
          const box = new MailboxIndex({ id: 1, name: 'INBOX', uidValidity: 1, uidNext: 400, highestModseq: 400, subscribed: true }, [...metas]);
          const before = snapshotFirst ? [...box.snapshot()] : undefined;
          const held = snapshotFirst ? box.snapshot() : undefined;
          box.remove(removeUids);
          const gone = new Set(removeUids);
          const left = metas.filter((m) => !gone.has(m.uid));
          expect(box.all()).toEqual(left);
          expect(box.info().unseen).toBe(left.filter((m) => m.flags.length === 0).length);
          if (held) expect(held).toEqual(before);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps first unseen, unseen, recent and keywords equal to a scan, whatever changes', () => {
    type Op = { k: 'add'; seen: boolean; kw: boolean } | { k: 'flag'; at: number; seen: boolean; kw: boolean } | { k: 'remove'; at: number } | { k: 'claim' };
    const op = fc.oneof(
      fc.record({ k: fc.constant('add' as const), seen: fc.boolean(), kw: fc.boolean() }),
      fc.record({ k: fc.constant('flag' as const), at: fc.nat(), seen: fc.boolean(), kw: fc.boolean() }),
      fc.record({ k: fc.constant('remove' as const), at: fc.nat() }),
      fc.record({ k: fc.constant('claim' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops: Op[]) => {
        const box = new MailboxIndex({ id: 1, name: 'INBOX', uidValidity: 1, uidNext: 1, highestModseq: 1, subscribed: true }, []);
        let uid = 0;
        const flags = (seen: boolean, kw: boolean) => [...(seen ? ['\\Seen'] : []), ...(kw ? [`$k${uid % 3}`] : [])];
        for (const o of ops) {
          const all = box.all();
          if (o.k === 'add') {
            uid++;
            box.add([{ ...meta(uid, false), flags: flags(o.seen, o.kw) }]);
            box.commitRecord({ ...box.record, uidNext: uid + 1 });
          } else if (o.k === 'flag' && all.length) box.replace([{ ...all[o.at % all.length]!, flags: flags(o.seen, o.kw) }]);
          else if (o.k === 'remove' && all.length) box.remove([all[o.at % all.length]!.uid]);
          else if (o.k === 'claim') box.claimRecent();
          const info = box.info();
          const live = box.all();
          expect(info.firstUnseenUid).toBe(live.find((m) => !m.flags.includes('\\Seen'))?.uid ?? 0);
          expect(info.unseen).toBe(live.filter((m) => !m.flags.includes('\\Seen')).length);
          expect(info.recent).toBe(live.filter((m) => m.uid >= box.firstRecentUid).length);
          for (const m of live) for (const f of m.flags) if (!f.startsWith('\\')) expect(info.keywords).toContain(f);
        }
      }),
      { numRuns: 300 },
    );
  });
});
