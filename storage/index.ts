// The storage package's public face: the contract types, the errors, and how to open a store. Only
// this file picks a backend; everything outside storage/ gets the interfaces (MailStore, MailStoreAdmin).
import { Level } from 'level';
import { copyStore, type CopyProgress } from './engine/copy-store.ts';
import { MailEngine } from './engine/index.ts';
import { classicDb } from './level/classic-db.ts';
import { FreeSpace } from './level/free-space.ts';
import { LevelBackend } from './level/level-backend.ts';
import { RecoveringDb, type RecoveringDbOptions, type StoreHealth } from './level/store-health.ts';
import { MemoryBackend } from './memory/memory-backend.ts';
import { PostgresBackend } from './postgres/postgres-backend.ts';
import { readShardMap } from './shards/shard-map.ts';
import { redactedUrl, ShardedStore } from './shards/sharded-store.ts';
import type { MessageAnalyzer, Store } from './types.ts';

export type * from './types.ts';
export type { CopyProgress } from './engine/copy-store.ts';
export * from './errors.ts';
export { DELIMITER, INBOX, normalizeMailboxName } from './mailbox-names.ts';
export type { StoreHealth, StoreState } from './level/store-health.ts';
export { ShardMapError, type ShardMap } from './shards/shard-map.ts';

export interface OpenStoreOptions {
  /** Directory of the LevelDB database. Required unless `memory` is true. */
  path?: string;
  /** Keep everything in memory (nothing survives close): for embedding and tests. */
  memory?: boolean;
  /** A store elsewhere, by URL: `postgres://user:password@host:port/database` (PostgreSQL). */
  url?: string;
  /**
   * Several PostgreSQL clusters, each account in one: the shard map file (JSON, README "Sharding by
   * account"), followed while the store is open. A cluster that cannot be reached at start is told
   * to onShardMapError and tried again on use; its accounts get temporary errors meanwhile.
   */
  shardMap?: string;
  /** Told when a changed shard map is refused (the last good one stays in force), or a cluster cannot be opened. */
  onShardMapError?: (err: unknown) => void;
  /** Told when a changed shard map is in force, with its clusters. */
  onShardMapReload?: (clusters: string[]) => void;
  analyzer?: MessageAnalyzer;
  /** Asked by the background reclaimer before each step (the governor's background gate). */
  reclaimGate?: () => boolean;
  reclaimStepKeys?: number;
  /** Keep expunged messages recoverable (tegami undelete) this long, ms. Default 0. */
  retentionMs?: number;
  /** Expunge records kept per mailbox for QRESYNC (the change-log horizon). Default 10,000. */
  expungeLogKeep?: number;
  /** Told when a background step (the reclaimer) fails; it retries after a pause. Default: stderr. */
  onBackgroundError?: (err: unknown) => void;
  /**
   * Refuse new mail (StoreFullError) while the database directory has less free space than this,
   * bytes, so that deletions and LevelDB's own housekeeping still have room. Default 0: off.
   */
  minFreeBytes?: number;
  /** Reopening after a storage fault (backoff, when to give up): see level/store-health.ts. */
  recovery?: Omit<RecoveringDbOptions, 'path'>;
}

/** A store, with how its disk is doing. */
export type OpenedStore = Store & {
  readonly health: StoreHealth;
  /** Free bytes of the database directory as last sampled; undefined in memory. */
  freeBytes(): number | undefined;
};

const ALWAYS_OK: StoreHealth = { state: 'ok', cause: undefined, gaveUp: false, onChange: () => undefined };

const ENCODINGS = { keyEncoding: 'utf8', valueEncoding: 'view' } as const;

const levelDb = (path: string) => classicDb(new Level<string, Uint8Array>(path, { ...ENCODINGS, compression: false }));

export async function openStore(opts: OpenStoreOptions): Promise<OpenedStore> {
  const { path, memory, url, shardMap, onShardMapError, onShardMapReload, minFreeBytes, recovery, ...engine } = opts;
  const settings = {
    ...engine,
    onBackgroundError: opts.onBackgroundError ?? ((err: unknown) => console.error('tegami: background reclaim step failed, retrying:', err)),
  };
  const openPostgres = (u: string) => MailEngine.open(new PostgresBackend({ connectionString: postgresUrl(u) }), settings);
  // PostgreSQL's health and free space are the database server's, watched where it runs
  if (shardMap) {
    const store = await ShardedStore.open({ file: shardMap }, {
      openCluster: openPostgres,
      checkUrl: postgresUrl,
      onError: onShardMapError,
      onReload: (map) => onShardMapReload?.([...map.clusters.keys()]),
    });
    return Object.assign(store, { health: ALWAYS_OK, freeBytes: () => undefined });
  }
  if (url || memory) {
    const store = await (url ? openPostgres(url) : MailEngine.open(new MemoryBackend(), settings));
    return Object.assign(store, { health: ALWAYS_OK, freeBytes: () => undefined });
  }
  if (!path) throw new Error('openStore needs a path, a url or memory: true');
  const db = new RecoveringDb(levelDb(path), { ...recovery, path });
  let space: FreeSpace | undefined;
  const store = await MailEngine.open(new LevelBackend(db, true), { ...settings, admitNewMail: (bytes) => space?.admit(bytes) });
  try {
    space = await FreeSpace.watch(path, minFreeBytes ?? 0, settings.onBackgroundError);
  } catch (err) {
    await store.close();
    throw err;
  }
  const closeStore = store.close.bind(store);
  return Object.assign(store, {
    health: db satisfies StoreHealth,
    freeBytes: () => space!.freeBytes,
    close: async () => {
      space!.close();
      await closeStore();
    },
  });
}

/**
 * Copies the LevelDB store at `path` into the empty store at `url` with every UID, UIDL, UIDVALIDITY
 * and modseq kept (tegami migrate-store; engine/copy-store.ts). Neither may be open elsewhere. With a
 * shard map instead, each account goes to the cluster the map pins it to, or to `newAccounts`.
 */
export async function migrateStore(
  from: { path: string }, to: { url: string } | { shardMap: string }, onProgress?: (p: CopyProgress) => void,
): Promise<CopyProgress> {
  if ('url' in to) return copyLevelInto(from.path, to.url, onProgress);
  const map = readShardMap(to.shardMap);
  const home = (user: string) => map.accounts.get(user) ?? map.newAccounts;
  const total: CopyProgress = { accounts: 0, messages: 0, bodies: 0, bytes: 0 };
  for (const [name, url] of map.clusters) {
    const before = { ...total };
    const done = await copyLevelInto(from.path, url, (p) => onProgress?.(sumProgress(before, p)), (user) => home(user) === name);
    Object.assign(total, sumProgress(before, done));
  }
  return total;
}

const sumProgress = (a: CopyProgress, b: CopyProgress): CopyProgress =>
  ({ accounts: a.accounts + b.accounts, messages: a.messages + b.messages, bodies: a.bodies + b.bodies, bytes: a.bytes + b.bytes });

async function copyLevelInto(path: string, url: string, onProgress?: (p: CopyProgress) => void, only?: (user: string) => boolean): Promise<CopyProgress> {
  const source = new LevelBackend(levelDb(path), true);
  const target = new PostgresBackend({ connectionString: postgresUrl(url) });
  try {
    return await copyStore(source, target, onProgress, only);
  } finally {
    await Promise.allSettled([source.close(), target.close()]);
  }
}

/** The URL, if it names a store this tegami can open (PostgreSQL); otherwise a clear error. */
function postgresUrl(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`unsupported store URL ${redactedUrl(url)}: expected postgres://…`);
  return url;
}
