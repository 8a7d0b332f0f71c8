// Invariant 4: the reclaimer runs in the background for the life of the process. A failed read or
// write of one step must not end the process (an unhandled rejection does, in Node); it is reported,
// the loop pauses, and the backlog still drains once the storage answers again.
import { afterEach, describe, expect, it } from 'vitest';
import { MailEngine } from '../../storage/engine/index.ts';
import { backends, removeTempDirs } from './backends.ts';

const msg = (s: string) => Buffer.from(`Subject: ${s}\r\n\r\nbody\r\n`);

afterEach(removeTempDirs);

describe.each(backends)('$name store: the reclaimer', ({ make }) => {
  it('reports a failing step, backs off and carries on until the backlog is drained', async () => {
    const backend = make().backend();
    const state = { failuresLeft: 0 };
    const commit = backend.commit.bind(backend);
    // reclaim steps are the commits that take items off the queue
    backend.commit = (changes, opts) => (changes.some((c) => c.t === 'dequeueReclaim') && state.failuresLeft-- > 0 ? Promise.reject(new Error('EIO')) : commit(changes, opts));
    const errors: unknown[] = [];
    const store = await MailEngine.open(backend, { onBackgroundError: (err) => errors.push(err) });
    await store.ensureUser('alice');
    const { uid } = await store.append('alice', 'INBOX', msg('doomed'));
    state.failuresLeft = 3;
    await store.expunge('alice', 'INBOX', [uid]);
    await store.reclaimDrained();
    expect(errors.map((e) => (e as Error).message)).toEqual(['EIO', 'EIO', 'EIO']);
    expect(store.stats().reclaimBacklog.bodies).toBe(0);
    expect(store.stats().reclaimed.bodies).toBe(1);
    await store.close();
  });
});
