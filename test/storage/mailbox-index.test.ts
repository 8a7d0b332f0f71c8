// The in-memory index every listing comes from: removing messages must leave exactly the others,
// in order, keep the unseen count true, and never change a snapshot handed out before.
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
});
