// A body reclaimed after an expunge elsewhere reads as MessageGoneError — which FETCH answers with
// EXPUNGEISSUED and the session goes on — never as a temporary store failure: imaptest's stress
// clients (expunging each other's messages) were told NO [UNAVAILABLE] "mailbox temporarily
// unavailable" dozens of times a minute, though nothing was unavailable.
import { describe, expect, it } from 'vitest';
import { analyzeMessage } from '../../protocol/mime/index.ts';
import { MessageGoneError, openStore } from '../../storage/index.ts';

describe('a reclaimed body', () => {
  it('reads as gone, by readBody and by readSummary', async () => {
    const store = await openStore({ memory: true, analyzer: analyzeMessage });
    try {
      await store.ensureUser('alice');
      await store.append('alice', 'INBOX', Buffer.from('Subject: x\r\n\r\nbody\r\n'));
      const [m] = (await store.snapshot('alice', 'INBOX')).messages;
      await store.expunge('alice', 'INBOX', [m!.uid]);
      await store.reclaimDrained();
      await expect(store.readSummary(m!.bodyId)).rejects.toBeInstanceOf(MessageGoneError);
      const read = async () => {
        for await (const _ of store.readBody(m!.bodyId)) void _;
      };
      await expect(read()).rejects.toBeInstanceOf(MessageGoneError);
    } finally {
      await store.close();
    }
  });
});

describe('a held body', () => {
  it('is not reclaimed while a reader holds it, and is once the hold ends', async () => {
    const store = await openStore({ memory: true, analyzer: analyzeMessage });
    try {
      await store.ensureUser('alice');
      await store.append('alice', 'INBOX', Buffer.from('Subject: x\r\n\r\nbody\r\n'));
      const [m] = (await store.snapshot('alice', 'INBOX')).messages;
      const release = await store.holdBodies([m!.bodyId], 'alice');
      await store.expunge('alice', 'INBOX', [m!.uid]);
      const drained = store.reclaimDrained();
      let done = false;
      void drained.then(() => (done = true));
      await new Promise((r) => setTimeout(r, 300)); // the reclaimer would have taken it by now
      expect(done).toBe(false);
      const [chunks] = await store.readBodies([{ bodyId: m!.bodyId, start: 0, end: m!.size }]);
      expect(Buffer.concat(chunks!).toString()).toContain('body');
      release();
      await drained;
      await expect(store.readSummary(m!.bodyId)).rejects.toBeInstanceOf(MessageGoneError);
    } finally {
      await store.close();
    }
  });
});
