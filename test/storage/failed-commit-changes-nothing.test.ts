// Invariant 3: a commit that fails answers an error and changes nothing a client can see.
import { MemoryLevel } from 'memory-level';
import { describe, expect, it } from 'vitest';
import { PartialMoveError, StoreUnavailableError } from '../../storage/index.ts';
import { LevelStore, type KvDb } from '../../storage/level/level-store.ts';

const msg = (s: string) => Buffer.from(`Subject: ${s}\r\n\r\nbody\r\n`);

async function storeWithSwitch() {
  const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as KvDb;
  /** `okBatches`: how many more writes succeed before they start to fail. */
  const state = { fail: false, okBatches: Infinity };
  const batch = db.batch.bind(db);
  db.batch = (ops, opts) => (state.fail || state.okBatches-- <= 0 ? Promise.reject(new Error('disk full')) : batch(ops, opts));
  const store = await LevelStore.open(db, { sync: false });
  return { store, state };
}

describe('a failed commit', () => {
  it('rejects deliveries, expunges and flag changes with a temporary error and leaves the mailbox as it was', async () => {
    const { store, state } = await storeWithSwitch();
    await store.ensureUser('alice');
    const kept = await store.append('alice', 'INBOX', msg('kept'));
    const before = await store.snapshot('alice', 'INBOX');
    state.fail = true;
    await expect(store.deliver(['alice'], msg('lost'))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.expunge('alice', 'INBOX', [kept.uid])).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.storeFlags('alice', 'INBOX', [kept.uid], 'add', ['\\Seen'])).rejects.toBeInstanceOf(StoreUnavailableError);
    const during = await store.snapshot('alice', 'INBOX');
    expect(during.messages).toEqual(before.messages);
    expect(during.mailbox.highestModseq).toBe(before.mailbox.highestModseq);
    state.fail = false;
    const next = await store.append('alice', 'INBOX', msg('next'));
    expect(next.uid).toBeGreaterThan(kept.uid);
    expect((await store.snapshot('alice', 'INBOX')).messages.map((m) => m.uid)).toEqual([kept.uid, next.uid]);
    await store.close();
  });

  it('leaves each message of a large move that fails part of the way in exactly one mailbox, and says which moved', async () => {
    const { store, state } = await storeWithSwitch();
    await store.ensureUser('alice');
    await store.importMessages('alice', 'INBOX', Array.from({ length: 350 }, (_, i) => ({ raw: msg(`m${i}`) })));
    const uids = (await store.snapshot('alice', 'INBOX')).messages.map((m) => m.uid);
    state.okBatches = 2;
    const err = await store.move('alice', 'INBOX', uids, 'Trash').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialMoveError);
    const { done, cause } = err as PartialMoveError;
    expect(cause).toBeInstanceOf(StoreUnavailableError);
    state.okBatches = Infinity;
    const inbox = (await store.snapshot('alice', 'INBOX')).messages.map((m) => m.uid);
    const trash = (await store.snapshot('alice', 'Trash')).messages.map((m) => m.uid);
    expect(done.mapping.length).toBeGreaterThan(0);
    expect(trash).toEqual(done.mapping.map(([, to]) => to));
    expect(inbox).toEqual(uids.filter((u) => !done.mapping.some(([from]) => from === u)));
    expect(inbox.length + trash.length).toBe(350);
    await store.close();
  });
});
