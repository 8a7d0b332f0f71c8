// Invariant 3: a commit that fails answers an error and changes nothing a client can see — on every
// backend, since the engine makes the changes visible only after the backend's commit resolved.
import { afterEach, describe, expect, it } from 'vitest';
import { MailEngine } from '../../storage/engine/index.ts';
import { PartialMoveError, StoreUnavailableError } from '../../storage/index.ts';
import { backends, removeTempDirs, type BackendUnderTest } from './backends.ts';

const msg = (s: string) => Buffer.from(`Subject: ${s}\r\n\r\nbody\r\n`);

afterEach(removeTempDirs);

async function storeWithSwitch(make: () => BackendUnderTest) {
  const backend = make().backend();
  /** `okBatches`: how many more writes succeed before they start to fail. */
  const state = { fail: false, okBatches: Infinity };
  const commit = backend.commit.bind(backend);
  backend.commit = (changes, opts) => (state.fail || state.okBatches-- <= 0 ? Promise.reject(new Error('disk full')) : commit(changes, opts));
  const store = await MailEngine.open(backend);
  return { store, state };
}

describe.each(backends)('$name store: a failed commit', ({ make }) => {
  it('rejects deliveries, expunges and flag changes with a temporary error and leaves the mailbox as it was', async () => {
    const { store, state } = await storeWithSwitch(make);
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
    const { store, state } = await storeWithSwitch(make);
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
