// A store made of several clusters, one account in one cluster (README "Sharding by account"). It
// sits above the engine: each cluster is an ordinary store (engine + backend, with its own UID
// counters, reclaimer and commit queue), and this router hands every call to the store of the
// account it is about. Nothing here knows a backend, and no rule of the engine is repeated: an
// account's whole life — UIDs, snapshots, reclaim — happens in one cluster's engine.
//
// Where an account lives: the map's pin if it has one, else the cluster it was found in (asked of
// every cluster once per process, then remembered), else — an account that exists nowhere yet —
// the map's `newAccounts`. So editing `newAccounts` sends new accounts to a new cluster and never
// moves an old one; an account found in two clusters is refused until the operator pins it.
//
// Failure stays per cluster: a cluster that is down — now, or already at start — gives its own
// accounts temporary errors (StoreUnavailableError → `-ERR [SYS/TEMP]`, `NO [UNAVAILABLE]`, `451`)
// while the others work; an account that is not pinned cannot be told from a new one while a cluster
// is silent, so it waits too rather than be created a second time elsewhere.
// Calls about no account in particular fan out: listUsers and stats merge every cluster's answer
// (listUsers fails whole rather than leave a cluster's accounts out), close and reclaimDrained wait
// for all. A delivery to accounts in several clusters is one commit per cluster: if one fails the
// sender is told to retry (451), and the recipients whose cluster took it get it again then —
// a duplicate, never a loss (invariant 3).
import { MessageGoneError, StoreUnavailableError, UnknownUserError } from '../errors.ts';
import { INBOX } from '../mailbox-names.ts';
import type {
  AppendOptions, BodyRange, ChangesSince, CopyResult, FlagMode, MailboxInfo, MailboxListener, MailboxSnapshot, RawMessage, RecentOptions,
  Store, StoreFlagsResult, StoreStats,
} from '../types.ts';
import { followShardMap, type ShardMapFollower } from './shard-map-file.ts';
import { readShardMap, ShardMapError, type ShardMap } from './shard-map.ts';

/** After a cluster failed to open, calls wait this long before it is tried again, ms (each try can cost a connect timeout). */
const REOPEN_AFTER_MS = 1000;

export interface ShardedStoreOptions {
  /** Opens the store of one cluster from its URL (storage/index.ts: the engine over PostgreSQL). */
  openCluster(url: string): Promise<Store>;
  /** Throws if a URL names no store this tegami can open (a mistake in the map, not an outage). */
  checkUrl?(url: string): void;
  /** Told when a changed map is refused, or a cluster cannot be opened (at start, or when a map adds it). */
  onError?(err: unknown): void;
  /** Told when a changed map is in force. */
  onReload?(map: ShardMap): void;
}

interface Cluster {
  readonly name: string;
  readonly url: string;
  store?: Store;
  opening?: Promise<Store>;
  failedAt?: number;
  failure?: StoreUnavailableError;
}

function checkUrls(map: ShardMap, opts: ShardedStoreOptions): void {
  for (const [name, url] of map.clusters) {
    try {
      opts.checkUrl?.(url);
    } catch (err) {
      throw new ShardMapError(`shard map: cluster "${name}": ${(err as Error).message}`);
    }
  }
}

/** The URL with its password, if any, hidden (for errors and logs). */
export const redactedUrl = (url: string): string => url.replace(/:[^:@/]*@/, ':***@');

export class ShardedStore implements Store {
  private readonly clusters = new Map<string, Cluster>();
  /** Where accounts that are not pinned were found. */
  private readonly found = new Map<string, string>();
  private readonly locating = new Map<string, Promise<string>>();
  private follower: ShardMapFollower | undefined;
  private closed = false;

  private constructor(private map: ShardMap, private readonly opts: ShardedStoreOptions) {
    this.addClusters(map);
  }

  /**
   * Opens the store of a map (a file, followed while the store is open, or a map): a map that cannot
   * be used is an error (ShardMapError, naming the file and the entry). A cluster that cannot be
   * reached now is reported to `onError` and tried again when one of its accounts is asked for: its
   * accounts get temporary errors meanwhile, and the other clusters' are served.
   */
  static async open(source: { file: string } | { map: ShardMap }, opts: ShardedStoreOptions): Promise<ShardedStore> {
    const map = 'file' in source ? readShardMap(source.file) : source.map;
    checkUrls(map, opts);
    const store = new ShardedStore(map, opts);
    await Promise.all([...store.clusters.values()].map(async (c) => {
      try {
        await store.cluster(c);
      } catch (err) {
        opts.onError?.(err);
      }
    }));
    if ('file' in source) store.follower = followShardMap(source.file, (m) => store.reload(m), (err) => opts.onError?.(err));
    return store;
  }

  /** A new version of the map: clusters may be added and pins changed; a cluster in use may not go or move. */
  private reload(next: ShardMap): void {
    try {
      checkUrls(next, this.opts);
    } catch (err) {
      this.opts.onError?.(err);
      return;
    }
    for (const [name, url] of this.map.clusters) {
      const now = next.clusters.get(name);
      if (now !== url) {
        const what = now === undefined ? 'is no longer in the map' : `has a new URL (${redactedUrl(now)})`;
        this.opts.onError?.(new ShardMapError(`shard map not reloaded: cluster "${name}" ${what}; that takes a restart (the old map stays in force)`));
        return;
      }
    }
    this.map = next;
    for (const c of this.addClusters(next)) (async () => this.cluster(c))().catch((err: unknown) => this.opts.onError?.(err));
    this.opts.onReload?.(next);
  }

  private addClusters(map: ShardMap): Cluster[] {
    const added: Cluster[] = [];
    for (const [name, url] of map.clusters) {
      if (this.clusters.has(name)) continue;
      const c: Cluster = { name, url };
      this.clusters.set(name, c);
      added.push(c);
    }
    return added;
  }

  /** The cluster's store, opened on first use; one that failed to open is tried again after a pause. */
  private cluster(c: Cluster): Store | Promise<Store> {
    if (c.store) return c.store;
    if (c.opening) return c.opening;
    if (this.closed) throw new StoreUnavailableError('store is closed');
    if (c.failure && Date.now() - c.failedAt! < REOPEN_AFTER_MS) throw c.failure;
    c.opening = this.opts.openCluster(c.url).then(
      async (store) => {
        if (this.closed) {
          await store.close();
          throw new StoreUnavailableError('store is closed');
        }
        c.store = store;
        c.failure = undefined;
        return store;
      },
      (err: unknown) => {
        c.failedAt = Date.now();
        c.failure = new StoreUnavailableError(`cluster "${c.name}" (${redactedUrl(c.url)}) cannot be opened: ${(err as Error)?.message ?? String(err)}`);
        throw c.failure;
      },
    ).finally(() => (c.opening = undefined));
    return c.opening;
  }

  private named(name: string): Store | Promise<Store> {
    return this.cluster(this.clusters.get(name)!);
  }

  // ---- where an account lives -------------------------------------------------------------

  private clusterOf(user: string): string | Promise<string> {
    const home = this.map.accounts.get(user) ?? this.found.get(user);
    if (home !== undefined) return home;
    let p = this.locating.get(user);
    if (!p) {
      p = this.locate(user).finally(() => this.locating.delete(user));
      this.locating.set(user, p);
    }
    return p;
  }

  /** Asks every cluster for the account: the one that has it, or `newAccounts` when none does. */
  private async locate(user: string): Promise<string> {
    const names = [...this.map.clusters.keys()];
    const answers = await Promise.allSettled(names.map(async (n) => (await this.named(n)).getMailbox(user, INBOX)));
    const holders = names.filter((_, i) => answers[i]!.status === 'fulfilled');
    if (holders.length > 1) throw new StoreUnavailableError(`account ${user} is in clusters ${holders.join(' and ')}: pin it to one in the shard map`);
    if (holders.length === 1) {
      this.found.set(user, holders[0]!);
      return holders[0]!;
    }
    // A cluster that could not answer may hold it: creating it elsewhere would make a second account.
    const failed = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected' && !(a.reason instanceof UnknownUserError));
    if (failed) throw failed.reason;
    return this.map.newAccounts;
  }

  private async storeOf(user: string): Promise<Store> {
    return this.named(await this.clusterOf(user));
  }

  /** The store that holds a body, asked of every cluster at once (for a caller that did not say whose it is). */
  private async holderOf(bodyId: string): Promise<Store> {
    const probe = [{ bodyId, start: 0, end: 0 }];
    try {
      return await Promise.any([...this.clusters.values()].map(async (c) => {
        const store = await this.cluster(c);
        await store.readBodies(probe);
        return store;
      }));
    } catch (err) {
      const reasons = (err as AggregateError).errors;
      throw reasons.find((e) => !(e instanceof MessageGoneError)) ?? reasons[0];
    }
  }

  private stores(): Store[] {
    return [...this.clusters.values()].flatMap((c) => (c.store ? [c.store] : []));
  }

  // ---- accounts -----------------------------------------------------------------------------

  async ensureUser(user: string): Promise<void> {
    const name = await this.clusterOf(user);
    await (await this.named(name)).ensureUser(user);
    if (!this.map.accounts.has(user)) this.found.set(user, name);
  }

  async deleteAccount(user: string): Promise<void> {
    await (await this.storeOf(user)).deleteAccount(user);
    this.found.delete(user);
  }

  async listUsers(): Promise<string[]> {
    const lists = await Promise.all([...this.clusters.values()].map(async (c) => (await this.cluster(c)).listUsers()));
    return [...new Set(lists.flat())].sort();
  }

  async listMailboxes(user: string): Promise<MailboxInfo[]> {
    return (await this.storeOf(user)).listMailboxes(user);
  }

  async getMailbox(user: string, name: string): Promise<MailboxInfo | undefined> {
    return (await this.storeOf(user)).getMailbox(user, name);
  }

  async createMailbox(user: string, name: string, opts?: { specialUse?: string }): Promise<MailboxInfo> {
    return (await this.storeOf(user)).createMailbox(user, name, opts);
  }

  async deleteMailbox(user: string, name: string): Promise<void> {
    return (await this.storeOf(user)).deleteMailbox(user, name);
  }

  async renameMailbox(user: string, from: string, to: string): Promise<void> {
    return (await this.storeOf(user)).renameMailbox(user, from, to);
  }

  async setSubscribed(user: string, name: string, subscribed: boolean): Promise<void> {
    return (await this.storeOf(user)).setSubscribed(user, name, subscribed);
  }

  async subscriptions(user: string): Promise<string[]> {
    return (await this.storeOf(user)).subscriptions(user);
  }

  // ---- messages -----------------------------------------------------------------------------

  async snapshot(user: string, mailbox: string, opts?: RecentOptions): Promise<MailboxSnapshot> {
    return (await this.storeOf(user)).snapshot(user, mailbox, opts);
  }

  async append(user: string, mailbox: string, raw: RawMessage, opts?: AppendOptions): Promise<{ uidValidity: number; uid: number }> {
    return (await this.storeOf(user)).append(user, mailbox, raw, opts);
  }

  async deliver(users: readonly string[], raw: RawMessage, opts?: { internalDate?: number }): Promise<void> {
    const homes = await Promise.all(users.map((u) => this.clusterOf(u)));
    const byCluster = new Map<string, string[]>();
    users.forEach((u, i) => {
      const list = byCluster.get(homes[i]!);
      if (list) list.push(u);
      else byCluster.set(homes[i]!, [u]);
    });
    await Promise.all([...byCluster].map(async ([name, group]) => (await this.named(name)).deliver(group, raw, opts)));
  }

  async importMessages(user: string, mailbox: string, messages: readonly { raw: RawMessage; opts?: AppendOptions }[]): Promise<void> {
    return (await this.storeOf(user)).importMessages(user, mailbox, messages);
  }

  async *readBody(bodyId: string, start?: number, end?: number, account?: string): AsyncIterable<Buffer> {
    const store = account === undefined ? await this.holderOf(bodyId) : await this.storeOf(account);
    yield* store.readBody(bodyId, start, end, account);
  }

  async holdBodies(bodyIds: readonly string[], account?: string): Promise<() => void> {
    if (account !== undefined) return (await this.storeOf(account)).holdBodies(bodyIds, account);
    // whose bodies they are is not known: held on every cluster
    const releases = await Promise.all(this.stores().map((s) => s.holdBodies(bodyIds)));
    return () => releases.forEach((r) => r());
  }

  async readBodies(ranges: readonly BodyRange[], account?: string): Promise<Buffer[][]> {
    if (account !== undefined) return (await this.storeOf(account)).readBodies(ranges, account);
    if (ranges.length === 0) return [];
    // Whose they are was not said: each body's cluster is found, then each cluster reads its own.
    const holders = new Map<string, Promise<Store>>();
    for (const r of ranges) if (!holders.has(r.bodyId)) holders.set(r.bodyId, this.holderOf(r.bodyId));
    const byStore = new Map<Store, number[]>();
    for (const [i, r] of ranges.entries()) {
      const store = await holders.get(r.bodyId)!;
      const list = byStore.get(store);
      if (list) list.push(i);
      else byStore.set(store, [i]);
    }
    const out: Buffer[][] = new Array(ranges.length);
    await Promise.all([...byStore].map(async ([store, indexes]) => {
      const got = await store.readBodies(indexes.map((i) => ranges[i]!));
      indexes.forEach((i, k) => (out[i] = got[k]!));
    }));
    return out;
  }

  async readSummary(bodyId: string, account?: string): Promise<unknown> {
    const store = account === undefined ? await this.holderOf(bodyId) : await this.storeOf(account);
    return store.readSummary(bodyId, account);
  }

  async storeFlags(
    user: string, mailbox: string, uids: readonly number[], mode: FlagMode, flags: readonly string[], opts?: { unchangedSince?: number },
  ): Promise<StoreFlagsResult> {
    return (await this.storeOf(user)).storeFlags(user, mailbox, uids, mode, flags, opts);
  }

  async expunge(user: string, mailbox: string, uids: readonly number[]): Promise<number[]> {
    return (await this.storeOf(user)).expunge(user, mailbox, uids);
  }

  async copy(user: string, from: string, uids: readonly number[], to: string): Promise<CopyResult> {
    return (await this.storeOf(user)).copy(user, from, uids, to);
  }

  async move(user: string, from: string, uids: readonly number[], to: string): Promise<CopyResult> {
    return (await this.storeOf(user)).move(user, from, uids, to);
  }

  async changesSince(user: string, mailbox: string, modseq: number): Promise<ChangesSince> {
    return (await this.storeOf(user)).changesSince(user, mailbox, modseq);
  }

  async watch(user: string, mailbox: string, listener: MailboxListener, opts?: RecentOptions): Promise<() => void> {
    return (await this.storeOf(user)).watch(user, mailbox, listener, opts);
  }

  async undelete(user: string, since?: number): Promise<number> {
    return (await this.storeOf(user)).undelete(user, since);
  }

  // ---- the whole store ----------------------------------------------------------------------

  async reclaimDrained(): Promise<void> {
    await Promise.all(this.stores().map((s) => s.reclaimDrained()));
  }

  /** The sum over the clusters open now (the oldest backlog item: the oldest of any; reclaiming: in any). */
  stats(): StoreStats {
    const all = this.stores().map((s) => s.stats());
    const sum = (f: (s: StoreStats) => number) => all.reduce((n, s) => n + f(s), 0);
    const shared = all.some((s) => s.nodes) ? {
      nodes: { reloads: sum((s) => s.nodes?.reloads ?? 0), conflicts: sum((s) => s.nodes?.conflicts ?? 0), reclaiming: all.some((s) => s.nodes?.reclaiming) },
    } : {};
    return {
      ...shared,
      users: sum((s) => s.users),
      mailboxesLoaded: sum((s) => s.mailboxesLoaded),
      commitGroups: sum((s) => s.commitGroups),
      commits: sum((s) => s.commits),
      reclaimBacklog: {
        bodies: sum((s) => s.reclaimBacklog.bodies),
        bytes: sum((s) => s.reclaimBacklog.bytes),
        oldestMs: all.reduce((n, s) => Math.max(n, s.reclaimBacklog.oldestMs), 0),
        accounts: sum((s) => s.reclaimBacklog.accounts),
      },
      reclaimed: { bodies: sum((s) => s.reclaimed.bodies), bytes: sum((s) => s.reclaimed.bytes) },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.follower?.close();
    await Promise.allSettled([...this.clusters.values()].map((c) => c.opening));
    await Promise.all(this.stores().map((s) => s.close()));
  }
}
