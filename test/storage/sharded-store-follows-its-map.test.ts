// The sharded store's routing rules (storage/shards/), over memory engines: the map file is checked
// whole, an account stays where it lives when `newAccounts` changes, an account found in two clusters
// is refused until it is pinned, a map that drops a cluster in use is not taken while running, and a
// body read that names its account asks that account's cluster only.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { interceptStore } from '../../server/store-interceptor.ts';
import { MailEngine } from '../../storage/engine/index.ts';
import { ShardMapError, StoreUnavailableError, type Store } from '../../storage/index.ts';
import { MemoryBackend } from '../../storage/memory/memory-backend.ts';
import { readAll } from '../../storage/read-all.ts';
import { parseShardMap } from '../../storage/shards/shard-map.ts';
import { ShardedStore } from '../../storage/shards/sharded-store.ts';

const msg = Buffer.from('Subject: hi\r\n\r\nhello\r\n');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A router over memory engines that the test can also look at one by one, following a map file. */
async function routerOnFile(map: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'tegami-shardmap-'));
  dirs.push(dir);
  const file = join(dir, 'shards.json');
  const write = (m: unknown) => {
    writeFileSync(`${file}.tmp`, JSON.stringify(m));
    renameSync(`${file}.tmp`, file);
  };
  write(map);
  const engines = new Map<string, Store>();
  const errors: unknown[] = [];
  let reloaded = 0;
  const store = await ShardedStore.open({ file }, {
    openCluster: async (url) => {
      const e = await MailEngine.open(new MemoryBackend());
      engines.set(url, e);
      return e;
    },
    onError: (err) => errors.push(err),
    onReload: () => void reloaded++,
  });
  /** Writes a new version and waits until the store has taken it (or refused it). */
  const rewrite = async (m: unknown) => {
    const seen = reloaded + errors.length;
    write(m);
    for (let i = 0; i < 100 && reloaded + errors.length === seen; i++) await new Promise((r) => setTimeout(r, 50));
  };
  return { store, engines, errors, rewrite };
}

describe('a sharded store', () => {
  it('creates new accounts where newAccounts says and leaves old ones where they live when it changes', async () => {
    const { store, engines, rewrite } = await routerOnFile({ clusters: { a: 'mem-a' }, newAccounts: 'a' });
    await store.ensureUser('alice');
    await store.append('alice', 'INBOX', msg);
    await rewrite({ clusters: { a: 'mem-a', b: 'mem-b' }, newAccounts: 'b' });
    await store.ensureUser('carol');
    expect(await engines.get('mem-a')!.listUsers()).toEqual(['alice']);
    expect(await engines.get('mem-b')!.listUsers()).toEqual(['carol']);
    expect(await store.listUsers()).toEqual(['alice', 'carol']);
    expect((await store.snapshot('alice', 'INBOX')).messages).toHaveLength(1);
    await store.close();
  });

  it('refuses an account found in two clusters until the map pins it to one', async () => {
    const { store, engines, rewrite } = await routerOnFile({ clusters: { a: 'mem-a', b: 'mem-b' }, newAccounts: 'a' });
    await engines.get('mem-a')!.ensureUser('dup');
    await engines.get('mem-b')!.ensureUser('dup');
    await engines.get('mem-b')!.append('dup', 'INBOX', msg);
    const err = await store.snapshot('dup', 'INBOX').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toBe('account dup is in clusters a and b: pin it to one in the shard map');
    await rewrite({ clusters: { a: 'mem-a', b: 'mem-b' }, newAccounts: 'a', accounts: { dup: 'b' } });
    expect((await store.snapshot('dup', 'INBOX')).messages).toHaveLength(1);
    await store.close();
  });

  it('keeps the map in force when a new version drops a cluster, moves one, or does not read', async () => {
    const { store, errors, rewrite } = await routerOnFile({ clusters: { a: 'mem-a', b: 'mem-b' }, newAccounts: 'a', accounts: { bob: 'b' } });
    await store.ensureUser('bob');
    await store.append('bob', 'INBOX', msg);
    await rewrite({ clusters: { a: 'mem-a' }, newAccounts: 'a' });
    await rewrite({ clusters: { a: 'mem-a', b: 'mem-b2' }, newAccounts: 'a' });
    await rewrite({ clusters: { a: 'mem-a', b: 'mem-b' }, newAccounts: 'c' });
    expect(errors.map((e) => (e as Error).message)).toEqual([
      'shard map not reloaded: cluster "b" is no longer in the map; that takes a restart (the old map stays in force)',
      'shard map not reloaded: cluster "b" has a new URL (mem-b2); that takes a restart (the old map stays in force)',
      expect.stringMatching(/^shard map \S+shards\.json: "newAccounts" names cluster "c", which is not in "clusters" \(a, b\)$/),
    ]);
    expect(errors.every((e) => e instanceof ShardMapError)).toBe(true);
    expect((await store.snapshot('bob', 'INBOX')).messages).toHaveLength(1);
    await store.close();
  });

  it('reads a body from its account\'s cluster alone when told whose it is, and finds it in any when not', async () => {
    const asked: string[] = [];
    const store = await ShardedStore.open({ map: parseShardMap({ clusters: { a: 'a', b: 'b' }, newAccounts: 'a', accounts: { bob: 'b' } }, 'test') }, {
      openCluster: async (name) => interceptStore(await MailEngine.open(new MemoryBackend()), {
        before: (_kind, op) => void (op.startsWith('readBod') && asked.push(name)),
      }) as Store,
    });
    await store.ensureUser('bob');
    await store.append('bob', 'INBOX', msg);
    const [m] = (await store.snapshot('bob', 'INBOX')).messages;
    expect(await readAll(store.readBody(m!.bodyId, 0, Infinity, 'bob'))).toEqual(msg);
    expect(asked).toEqual(['b']);
    asked.length = 0;
    expect(await readAll(store.readBody(m!.bodyId))).toEqual(msg);
    expect(asked.sort()).toEqual(['a', 'b', 'b']);
    await store.close();
  });

  it('adds up the clusters\' figures, the several-nodes ones included', async () => {
    const nodes = { a: { reloads: 2, conflicts: 1, reclaiming: false }, b: { reloads: 3, conflicts: 0, reclaiming: true } };
    const store = await ShardedStore.open({ map: parseShardMap({ clusters: { a: 'a', b: 'b' }, newAccounts: 'a', accounts: { bob: 'b' } }, 'test') }, {
      openCluster: async (name) => {
        const engine = await MailEngine.open(new MemoryBackend());
        return Object.assign(engine, { stats: () => ({ ...MailEngine.prototype.stats.call(engine), nodes: nodes[name as 'a' | 'b'] }) });
      },
    });
    await store.ensureUser('alice');
    await store.ensureUser('bob');
    expect(store.stats()).toMatchObject({ users: 2, mailboxesLoaded: 12, nodes: { reloads: 5, conflicts: 1, reclaiming: true } });
    await store.close();
  });

  it.each([
    [{ clusters: {}, newAccounts: 'a' }, /"clusters" must name at least one cluster/],
    [{ clusters: { a: 'x' } }, /"newAccounts" must name the cluster that gets new accounts \(one of a\)/],
    [{ clusters: { a: 'x' }, newAccounts: 'a', acounts: {} }, /unknown key "acounts"/],
    [{ clusters: { a: 'x' }, newAccounts: 'a', accounts: { 'Alice@example.org': 'a' } }, /"Alice@example.org" in "accounts" is not an account name/],
    [{ clusters: { a: 42 }, newAccounts: 'a' }, /cluster "a" needs a store URL/],
    [[], /expected a JSON object/],
  ])('refuses the map %j with a message that says what is wrong', (map, why) => {
    expect(() => parseShardMap(map, 'shards.json')).toThrow(why);
  });
});
