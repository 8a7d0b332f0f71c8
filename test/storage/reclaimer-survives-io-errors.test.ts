// Invariant 4: the reclaimer runs in the background for the life of the process. A failed read or
// write of one step must not end the process (an unhandled rejection does, in Node); it is reported,
// the loop pauses, and the backlog still drains once the storage answers again.
import { MemoryLevel } from 'memory-level';
import { describe, expect, it } from 'vitest';
import { LevelStore, type KvDb } from '../../storage/level/level-store.ts';

const msg = (s: string) => Buffer.from(`Subject: ${s}\r\n\r\nbody\r\n`);

describe('the reclaimer', () => {
  it('reports a failing step, backs off and carries on until the backlog is drained', async () => {
    const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as KvDb;
    const state = { failuresLeft: 0 };
    const batch = db.batch.bind(db);
    db.batch = (ops, opts) => (ops.some((o) => o.type === 'del' && o.key.startsWith('q!')) && state.failuresLeft-- > 0 ? Promise.reject(new Error('EIO')) : batch(ops, opts));
    const errors: unknown[] = [];
    const store = await LevelStore.open(db, { sync: false, onBackgroundError: (err) => errors.push(err) });
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
