// The storage engine: MailStore and MailStoreAdmin over any backend (backend.ts). Reads are served
// from in-memory mailbox indexes (mailbox-index.ts) loaded once per account; every write goes through
// the commit queue (commit-queue.ts) as typed changes, one atomic backend commit per round. Every rule
// lives here, once, for all backends: UID/modseq/UIDVALIDITY allocation (invariant 1), flags
// (../flags.ts), slices of mass changes (slices.ts), the rename and move rules, events to sessions,
// and the reclaim schedule (reclaimer.ts).
//
// Several processes on one store (a backend with `shared`, backend.ts): any process serves any
// account. Each account's index carries the version it was loaded at; every commit presents the
// versions of the accounts it touches, and the backend refuses it in the same transaction if another
// process moved one (optimistic concurrency: no owner, no extra round trip). A refused round is
// prepared again on the reloaded accounts (commit-queue.ts). Other processes' commits are heard as
// notices; the accounts they name are reloaded between rounds and the differences reach sessions as
// the usual events, so an IDLE session on one node sees a delivery made through another. A commit
// whose outcome is unknown marks its accounts stale in the same way: they are reloaded before they
// are written again. Only the process holding the backend's reclaim role runs the reclaimer.
import {
  MailboxExistsError, MailboxNotFoundError, MessageGoneError, PartialMoveError, StoreRuleError, StoreUnavailableError, UnknownUserError,
} from '../errors.ts';
import { applyFlags, sameFlags } from '../flags.ts';
import { DEFAULT_MAILBOXES, DELIMITER, INBOX, normalizeMailboxName, validateMailboxName } from '../mailbox-names.ts';
import type {
  AppendOptions, ChangesSince, CopyResult, FlagMode, MailboxInfo, MailboxListener, MailboxEvent, MailboxSnapshot, RecentOptions,
  BodyRange, MailStore, MailStoreAdmin, MessageAnalyzer, MessageMeta, RawMessage, StoreFlagsResult, StoreStats,
} from '../types.ts';
import {
  CommitConflictError, CommitOutcomeUnknownError, type Backend, type Change, type CommitExpectations, type RemoteChange,
} from './backend.ts';
import { BodyIdSource } from './body-ids.ts';
import { CommitQueue, type Tx } from './commit-queue.ts';
import { MailboxIndex } from './mailbox-index.ts';
import { Reclaimer } from './reclaimer.ts';
import type { Counters, MailboxRecord, ReclaimItem } from './records.ts';
import { inSlices } from './slices.ts';
import { accountName, InvalidUserNameError, isAccountName } from '../user-names.ts';

export interface EngineOptions {
  analyzer?: MessageAnalyzer;
  /** How long expunged messages stay recoverable with undelete before they are reclaimed, ms (default 0). */
  retentionMs?: number;
  /** Asked by the reclaimer before each step. */
  reclaimGate?: () => boolean;
  reclaimStepKeys?: number;
  /** Expunge records kept per mailbox for QRESYNC (the change-log horizon). Default 10,000. */
  expungeLogKeep?: number;
  /** Told when a background step fails (it is retried after a pause). */
  onBackgroundError?: (err: unknown) => void;
  /** Asked before new mail is stored (append, deliver, import); throws StoreFullError to refuse it. */
  admitNewMail?: (bytes: number) => void;
}

interface Account {
  readonly name: string;
  readonly boxes: Map<string, MailboxIndex>;
  /**
   * Subscribed names that have no mailbox (RFC 3501 6.3.6: subscribing needs no mailbox, DELETE keeps
   * the subscription). Kept in memory only: a backend has no record for them yet, so they last until
   * the process restarts; a subscribed mailbox's own flag is durable.
   */
  readonly unfiledSubscriptions: Set<string>;
  /** The backend's version of the account this index matches (shared backends only). */
  version?: number;
}

/**
 * Bytes asked of the backend at a time when a body is streamed without a known end (POP3 RETR):
 * LevelDB's chunk size (storage/level/keys.ts), so a window is one lookup there.
 */
const STREAM_WINDOW = 256 * 1024;
/** Default expunge-log records kept per mailbox: QRESYNC clients up to this many expunges behind resync cheaply. */
const DEFAULT_EXPUNGE_LOG_KEEP = 10_000;
/** Items this close to their reclaim time are left to the reclaimer by undelete, so the two never race, ms. */
const UNDELETE_MARGIN_MS = 1000;
/** After a failed reload of accounts another node changed, the next try, ms (the store is likely down). */
const CATCH_UP_RETRY_MS = 1000;

export class MailEngine implements MailStore, MailStoreAdmin {
  private readonly commits: CommitQueue;
  private readonly bodyIds = new BodyIdSource();
  private readonly accounts = new Map<string, Account>();
  private readonly loading = new Map<string, Promise<Account>>();
  private counters: Counters = { nextMailboxId: 1, lastUidValidity: 0 };
  /** The counters as last committed or read: what a shared backend must still hold to take ours. */
  private committedCounters: Counters = { nextMailboxId: 1, lastUidValidity: 0 };
  /** Loaded accounts that another process changed, or that a commit of unknown outcome touched. */
  private readonly stale = new Set<string>();
  private countersStale = false;
  /** Versions of accounts this process created in the commit that just succeeded, for ensureUser. */
  private readonly createdVersions = new Map<string, number>();
  private catchUpTimer: NodeJS.Timeout | undefined;
  /** Reloads of accounts that another process changed, and rounds refused because one did. */
  private readonly sharing = { reloads: 0, conflicts: 0 };
  private nextReclaimSeq = 1;
  private readonly reclaimer: Reclaimer;
  private closed = false;
  private readonly retentionMs: number;
  private readonly expungeLogKeep: number;

  private constructor(private readonly backend: Backend, private readonly opts: EngineOptions) {
    this.commits = new CommitQueue(
      { commit: (changes, o) => this.commitChanges(changes, o) },
      { catchUp: () => this.catchUp() },
    );
    this.retentionMs = opts.retentionMs ?? 0;
    this.expungeLogKeep = Math.max(1, opts.expungeLogKeep ?? DEFAULT_EXPUNGE_LOG_KEEP);
    this.reclaimer = new Reclaimer(backend, {
      retentionMs: this.retentionMs,
      gate: opts.reclaimGate,
      stepKeys: opts.reclaimStepKeys,
      onError: opts.onBackgroundError,
      nextSeq: () => this.nextReclaimSeq++,
    });
  }

  static async open(backend: Backend, opts: EngineOptions = {}): Promise<MailEngine> {
    const state = await backend.open();
    const store = new MailEngine(backend, opts);
    if (state.counters) {
      store.counters = { ...state.counters };
      store.committedCounters = { ...state.counters };
    }
    const shared = backend.shared;
    store.nextReclaimSeq = store.reclaimer.start(!shared || shared.reclaiming ? state.reclaimQueues : undefined) + 1;
    shared?.listen({
      changed: (c) => store.heard(c),
      missed: () => void store.recheckLoaded(),
      reclaiming: (held) => void store.reclaimRole(held),
    });
    return store;
  }

  // ---- several processes on one store (shared backends) -------------------------------------

  /** The backend's commit, with the versions the indexes were built on when the store is shared. */
  private async commitChanges(changes: readonly Change[], opts: { durable: boolean }): Promise<void> {
    if (!this.backend.shared) {
      await this.backend.commit(changes, opts);
      return;
    }
    const expect = this.expectations(changes);
    let result;
    try {
      result = await this.backend.commit(changes, { ...opts, expect });
    } catch (err) {
      if (err instanceof CommitConflictError) {
        this.sharing.conflicts++;
        for (const u of err.accounts) this.stale.add(u);
        if (err.counters) this.countersStale = true;
      } else if (err instanceof CommitOutcomeUnknownError && expect) {
        for (const u of expect.versions.keys()) this.stale.add(u);
        if (expect.counters) this.countersStale = true;
      }
      throw err;
    }
    for (const [user, version] of result?.versions ?? []) {
      const acct = this.accounts.get(user);
      if (acct) acct.version = version;
      else this.createdVersions.set(user, version);
    }
    if (expect?.counters) this.committedCounters = { ...[...changes].reverse().find((c) => c.t === 'counters')!.counters };
  }

  /** The accounts these changes touch (each touches its mailbox records) at their loaded versions. */
  private expectations(changes: readonly Change[]): CommitExpectations | undefined {
    const versions = new Map<string, number | null>();
    let counters = false;
    for (const c of changes) {
      if (c.t === 'counters') counters = true;
      else if (c.t === 'putUser') versions.set(c.user, null);
      else if ((c.t === 'delUser' || c.t === 'putMailbox' || c.t === 'delMailbox') && !versions.has(c.user)) {
        // an account dropped by a reload while a mutation held it: no version can match
        versions.set(c.user, this.accounts.get(c.user)?.version ?? -1);
      }
    }
    if (versions.size === 0 && !counters) return undefined;
    return { versions, ...(counters ? { counters: this.committedCounters } : {}) };
  }

  /** Another process committed to an account: reload it if this one has it and is behind. */
  private heard(c: RemoteChange): void {
    if (c.queued && this.backend.shared!.reclaiming) void this.recount(c.user);
    const acct = this.accounts.get(c.user);
    if (!(acct && acct.version !== undefined && acct.version >= c.version) && (acct || this.loading.has(c.user))) {
      this.stale.add(c.user);
      this.commits.poke();
    }
  }

  /** Notices may have been missed (the listening connection broke): compare every loaded account's version. */
  private async recheckLoaded(): Promise<void> {
    const users = [...this.accounts.keys()];
    try {
      const now = await this.backend.shared!.versions(users);
      for (const u of users) if (now.get(u) !== this.accounts.get(u)?.version) this.stale.add(u);
    } catch (err) {
      this.opts.onBackgroundError?.(err);
      for (const u of users) this.stale.add(u);
    }
    this.countersStale = true;
    this.commits.poke();
  }

  /** Runs in the commit queue, between rounds; undefined when nothing is stale (the single-node path). */
  private catchUp(): Promise<void> | undefined {
    if (this.stale.size === 0 && !this.countersStale) return undefined;
    return this.reloadStale();
  }

  private async reloadStale(): Promise<void> {
    const shared = this.backend.shared!;
    try {
      if (this.countersStale) {
        const c = await shared.counters();
        this.committedCounters = c;
        // ours run ahead when a commit that allocated them failed; neither is ever given twice
        this.counters = {
          nextMailboxId: Math.max(this.counters.nextMailboxId, c.nextMailboxId),
          lastUidValidity: Math.max(this.counters.lastUidValidity, c.lastUidValidity),
        };
        this.countersStale = false;
      }
      for (const user of [...this.stale]) {
        this.stale.delete(user);
        try {
          await this.reload(user);
        } catch (err) {
          this.stale.add(user);
          throw err;
        }
      }
    } catch (err) {
      this.opts.onBackgroundError?.(err);
      if (!this.catchUpTimer && !this.closed) {
        this.catchUpTimer = setTimeout(() => {
          this.catchUpTimer = undefined;
          this.commits.poke();
        }, CATCH_UP_RETRY_MS);
        this.catchUpTimer.unref?.();
      }
      throw err;
    }
  }

  /**
   * Replaces a loaded account's indexes with the stored ones, in place (mutations waiting in the
   * queue hold these objects), and tells each mailbox's watchers what changed.
   */
  private async reload(user: string): Promise<void> {
    const acct = this.accounts.get(user) ?? (await this.loading.get(user)?.catch(() => undefined));
    if (!acct) {
      // a conflict on an account this process has not loaded (two nodes created it at once): load it
      await this.account(user).catch((err: unknown) => {
        if (!(err instanceof UnknownUserError)) throw err;
      });
      return;
    }
    const stored = await this.read(() => this.backend.shared!.loadVersioned(user));
    this.sharing.reloads++;
    if (!stored) {
      this.accounts.delete(user);
      for (const b of acct.boxes.values()) {
        b.gone = true;
        this.emit(b, { type: 'deleted', mailboxId: b.record.id });
      }
      return;
    }
    acct.version = stored.version;
    const before = new Map([...acct.boxes.values()].map((b) => [b.record.id, b]));
    const events: [MailboxIndex, MailboxEvent][] = [];
    acct.boxes.clear();
    for (const s of stored.mailboxes) {
      const box = before.get(s.record.id);
      before.delete(s.record.id);
      if (box) for (const e of box.reload(s)) events.push([box, e]);
      acct.boxes.set(s.record.name, box ?? new MailboxIndex(s.record, s.messages, s.expungeLog));
    }
    for (const b of before.values()) {
      b.gone = true;
      this.emit(b, { type: 'deleted', mailboxId: b.record.id });
    }
    for (const [b, e] of events) this.emit(b, e);
  }

  /** Another process queued reclaim items for an account: the reclaiming process counts its queue again. */
  private async recount(owner: string): Promise<void> {
    try {
      const [q] = await this.backend.shared!.queueSummaries([owner]);
      this.reclaimer.recount(owner, q);
    } catch (err) {
      this.opts.onBackgroundError?.(err);
    }
  }

  /** This process became (or stopped being) the one that reclaims. */
  private async reclaimRole(held: boolean): Promise<void> {
    if (!held) {
      this.reclaimer.standBy();
      return;
    }
    try {
      this.reclaimer.start(await this.backend.shared!.queueSummaries());
    } catch (err) {
      this.opts.onBackgroundError?.(err);
    }
  }

  // ---- accounts and mailboxes -------------------------------------------------------------

  private async account(user: string): Promise<Account> {
    // Accounts are created under names that follow the rule (ensureUser), so any other spelling —
    // `Alice`, `alice@example.org` — names no account here: callers map addresses and logins to the
    // account first (storage/user-names.ts), and a caller that forgot cannot reach or shadow one.
    if (!isAccountName(user)) throw new UnknownUserError(user);
    const have = this.accounts.get(user);
    if (have) return have;
    let p = this.loading.get(user);
    if (!p) {
      p = this.loadAccount(user).finally(() => this.loading.delete(user));
      this.loading.set(user, p);
    }
    return p;
  }

  private async loadAccount(user: string): Promise<Account> {
    const shared = this.backend.shared;
    const stored = await this.read(async () => (shared ? shared.loadVersioned(user) : { mailboxes: await this.backend.load(user), version: undefined }));
    if (!stored?.mailboxes) throw new UnknownUserError(user);
    const boxes = new Map<string, MailboxIndex>();
    for (const b of stored.mailboxes) boxes.set(b.record.name, new MailboxIndex(b.record, b.messages, b.expungeLog));
    const acct: Account = { name: user, boxes, unfiledSubscriptions: new Set(), version: stored.version };
    // A concurrent ensureUser may have created it meanwhile; the first one loaded wins.
    const raced = this.accounts.get(user);
    if (raced) return raced;
    this.accounts.set(user, acct);
    return acct;
  }

  /** Wraps a backend read so that an I/O failure surfaces as a temporary store error (a body gone is not one). */
  private async read<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('store is closed');
    try {
      return await fn();
    } catch (err) {
      if (err instanceof UnknownUserError || err instanceof StoreUnavailableError || err instanceof MessageGoneError) throw err;
      throw new StoreUnavailableError(`read failed: ${(err as Error).message}`);
    }
  }

  private async box(user: string, name: string): Promise<MailboxIndex> {
    const acct = await this.account(user);
    const box = acct.boxes.get(normalizeMailboxName(name));
    if (!box) throw new MailboxNotFoundError(name);
    return box;
  }

  private newMailboxRecord(name: string, specialUse?: string): MailboxRecord {
    const uidValidity = Math.max(Math.floor(Date.now() / 1000), this.counters.lastUidValidity + 1);
    this.counters.lastUidValidity = uidValidity;
    const id = this.counters.nextMailboxId++;
    return { id, name, uidValidity, uidNext: 1, highestModseq: 1, specialUse, subscribed: specialUse !== undefined || name === INBOX };
  }

  private writeCounters(tx: Tx): void {
    tx.write({ t: 'counters', counters: { ...this.counters } });
  }

  async ensureUser(user: string): Promise<void> {
    // `Alice` or `alice@example.org` is refused (InvalidUserNameError) instead of creating a second
    // account beside `alice` that every login and delivery would miss
    const name = accountName(user);
    if (name !== user) throw new InvalidUserNameError(`"${user}" is not an account name; the account is "${name}"`);
    try {
      await this.account(user);
      return;
    } catch (err) {
      if (!(err instanceof UnknownUserError)) throw err;
    }
    await this.commits.run((tx) => {
      if (this.accounts.has(user)) return;
      const boxes = new Map<string, MailboxIndex>();
      tx.write({ t: 'putUser', user, created: Date.now() });
      for (const d of DEFAULT_MAILBOXES) {
        const r = this.newMailboxRecord(d.name, d.specialUse);
        tx.write({ t: 'putMailbox', user, record: r });
        boxes.set(r.name, new MailboxIndex(r, []));
      }
      this.writeCounters(tx);
      tx.onCommit(() => {
        const version = this.createdVersions.get(user);
        this.createdVersions.delete(user);
        this.accounts.set(user, { name: user, boxes, unfiledSubscriptions: new Set(), version });
      });
    }, true);
  }

  listUsers(): Promise<string[]> {
    return this.read(() => this.backend.listUsers());
  }

  async listMailboxes(user: string): Promise<MailboxInfo[]> {
    const acct = await this.account(user);
    return [...acct.boxes.values()].map((b) => b.info()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async getMailbox(user: string, name: string): Promise<MailboxInfo | undefined> {
    const acct = await this.account(user);
    return acct.boxes.get(normalizeMailboxName(name))?.info();
  }

  async createMailbox(user: string, name: string, opts: { specialUse?: string } = {}): Promise<MailboxInfo> {
    const n = validateMailboxName(name);
    const acct = await this.account(user);
    return this.commits.run((tx) => {
      if (acct.boxes.has(n)) throw new MailboxExistsError(n);
      // RFC 3501 6.3.3: create the superior levels that do not exist yet.
      const parts = n.split(DELIMITER);
      const created: MailboxIndex[] = [];
      for (let i = 1; i <= parts.length; i++) {
        const path = parts.slice(0, i).join(DELIMITER);
        if (acct.boxes.has(path)) continue;
        const r = this.newMailboxRecord(path, i === parts.length ? opts.specialUse : undefined);
        // A name subscribed before its mailbox existed: the subscription moves onto the mailbox.
        if (acct.unfiledSubscriptions.has(path)) r.subscribed = true;
        tx.write({ t: 'putMailbox', user, record: r });
        created.push(new MailboxIndex(r, []));
      }
      this.writeCounters(tx);
      tx.onCommit(() => {
        for (const b of created) {
          acct.boxes.set(b.record.name, b);
          acct.unfiledSubscriptions.delete(b.record.name);
        }
      });
      return created[created.length - 1]!.info();
    }, true);
  }

  async deleteMailbox(user: string, name: string): Promise<void> {
    const box = await this.box(user, name);
    const acct = await this.account(user);
    if (box.record.name === INBOX) throw new StoreRuleError('INBOX cannot be deleted');
    const item: ReclaimItem = { t: 'mailbox', m: box.record.id, at: Date.now() };
    await this.commits.run((tx) => {
      if (acct.boxes.get(box.record.name) !== box) throw new MailboxNotFoundError(name);
      tx.write({ t: 'delMailbox', user, name: box.record.name });
      tx.write({ t: 'queueReclaim', owner: user, seq: this.nextReclaimSeq++, item });
      tx.onCommit(() => {
        // RFC 3501 6.3.4/6.3.6: deleting a mailbox does not unsubscribe its name.
        if (box.record.subscribed) acct.unfiledSubscriptions.add(box.record.name);
        acct.boxes.delete(box.record.name);
        box.gone = true;
        this.emit(box, { type: 'deleted', mailboxId: box.record.id });
        this.reclaimer.queued(user, [item]);
      });
    }, true);
  }

  async deleteAccount(user: string): Promise<void> {
    const acct = await this.account(user);
    await this.commits.run((tx) => {
      const boxes = [...acct.boxes.values()];
      const items: ReclaimItem[] = boxes.map((b) => ({ t: 'mailbox', m: b.record.id, at: Date.now() }));
      tx.write({ t: 'delUser', user });
      for (const b of boxes) tx.write({ t: 'delMailbox', user, name: b.record.name });
      for (const item of items) tx.write({ t: 'queueReclaim', owner: user, seq: this.nextReclaimSeq++, item });
      tx.onCommit(() => {
        this.accounts.delete(user);
        for (const b of boxes) {
          b.gone = true;
          this.emit(b, { type: 'deleted', mailboxId: b.record.id });
        }
        this.reclaimer.queued(user, items);
      });
    }, true);
  }

  async renameMailbox(user: string, from: string, to: string): Promise<void> {
    const src = await this.box(user, from);
    const target = validateMailboxName(to);
    const acct = await this.account(user);
    if (acct.boxes.has(target)) throw new MailboxExistsError(target);
    if (src.record.name === INBOX) {
      // RFC 3501 6.3.5: renaming INBOX moves its messages to a new mailbox and leaves INBOX empty.
      await this.createMailbox(user, target);
      await this.move(user, INBOX, src.all().map((m) => m.uid), target);
      return;
    }
    const oldName = src.record.name;
    if (target === oldName || target.startsWith(oldName + DELIMITER)) throw new StoreRuleError('cannot rename a mailbox into itself');
    await this.commits.run((tx) => {
      const moving = [...acct.boxes.values()].filter(
        (b) => b.record.name === oldName || b.record.name.startsWith(oldName + DELIMITER),
      );
      const renamed = moving.map((b) => ({ box: b, record: { ...b.record, name: target + b.record.name.slice(oldName.length) } }));
      for (const r of renamed) if (acct.boxes.has(r.record.name)) throw new MailboxExistsError(r.record.name);
      for (const r of renamed) {
        tx.write({ t: 'delMailbox', user, name: r.box.record.name });
        tx.write({ t: 'putMailbox', user, record: r.record });
      }
      tx.onCommit(() => {
        for (const r of renamed) acct.boxes.delete(r.box.record.name);
        for (const r of renamed) {
          r.box.commitRecord(r.record);
          acct.boxes.set(r.record.name, r.box);
        }
      });
    }, true);
  }

  async setSubscribed(user: string, name: string, subscribed: boolean): Promise<void> {
    const acct = await this.account(user);
    const n = normalizeMailboxName(name);
    await this.commits.run((tx) => {
      const box = acct.boxes.get(n);
      if (box) {
        const record = { ...box.record, subscribed };
        tx.write({ t: 'putMailbox', user, record });
        tx.onCommit(() => box.commitRecord({ ...box.record, subscribed }));
        return;
      }
      if (subscribed) validateMailboxName(n);
      tx.onCommit(() => (subscribed ? acct.unfiledSubscriptions.add(n) : acct.unfiledSubscriptions.delete(n)));
    }, true);
  }

  async subscriptions(user: string): Promise<string[]> {
    const acct = await this.account(user);
    const names = [...acct.boxes.values()].filter((b) => b.record.subscribed).map((b) => b.record.name);
    return [...names, ...acct.unfiledSubscriptions].sort();
  }

  // ---- reading --------------------------------------------------------------------------------

  async snapshot(user: string, mailbox: string, opts: RecentOptions = {}): Promise<MailboxSnapshot> {
    const box = await this.box(user, mailbox);
    const mailboxInfo = box.info();
    const firstRecentUid = opts.claimRecent ? box.claimRecent() : box.firstRecentUid;
    return { mailbox: mailboxInfo, messages: box.snapshot(), firstRecentUid };
  }

  async *readBody(bodyId: string, start = 0, end = Infinity): AsyncIterable<Buffer> {
    // Held while it streams: a body freed between two windows would leave the reader half-way.
    const release = await this.reclaimer.hold([bodyId]);
    try {
      // Window after window until the backend hands back less than asked: the body's end.
      for (let from = start; from < end; from += STREAM_WINDOW) {
        const to = Math.min(end, from + STREAM_WINDOW);
        const [chunks] = await this.readBodies([{ bodyId, start: from, end: to }]);
        let got = 0;
        for (const c of chunks!) {
          got += c.length;
          yield c;
        }
        if (got < to - from) return;
      }
    } finally {
      release();
    }
  }

  holdBodies(bodyIds: readonly string[]): Promise<() => void> {
    return this.reclaimer.hold(bodyIds);
  }

  readBodies(ranges: readonly BodyRange[]): Promise<Buffer[][]> {
    for (const r of ranges) if (!Number.isFinite(r.end)) throw new RangeError('readBodies reads finite ranges only');
    return ranges.length ? this.read(() => this.backend.readBodyRanges(ranges)) : Promise.resolve([]);
  }

  async readSummary(bodyId: string): Promise<unknown> {
    const v = await this.read(() => this.backend.readSummary(bodyId));
    const analyzer = this.opts.analyzer;
    if (!analyzer || (v !== undefined && (analyzer.current?.(v) ?? true))) return v;
    // Stored before an analyzer existed, or by an older one: derive it now (costly, but only for such messages).
    const chunks: Buffer[] = [];
    for await (const c of this.readBody(bodyId)) chunks.push(c);
    return analyzer(Buffer.concat(chunks));
  }

  async changesSince(user: string, mailbox: string, modseq: number): Promise<ChangesSince> {
    const box = await this.box(user, mailbox);
    const changed = box.all().filter((m) => m.modseq > modseq);
    const vanished = await this.read(() => this.backend.expungedSince(box.record.id, modseq));
    return { changed, vanished: vanished.sort((a, b) => a - b), complete: modseq >= (box.record.expungeHorizon ?? 0) };
  }

  async watch(user: string, mailbox: string, listener: MailboxListener, opts: RecentOptions = {}): Promise<() => void> {
    const box = await this.box(user, mailbox);
    box.listeners.add(listener);
    if (opts.claimRecent) box.recentClaimers.add(listener);
    return () => {
      box.listeners.delete(listener);
      box.recentClaimers.delete(listener);
    };
  }

  private emit(box: MailboxIndex, ev: MailboxEvent): void {
    // New messages are \Recent for one session only: the first read-write watcher, if any; with
    // none, they stay recent for the next session that selects the mailbox.
    let claimer: MailboxListener | undefined;
    if (ev.type === 'exists') {
      claimer = box.recentClaimers.values().next().value;
      if (claimer) box.firstRecentUid = Math.max(box.firstRecentUid, ev.messages[ev.messages.length - 1]!.uid + 1);
    }
    for (const l of box.listeners) {
      try {
        l(l === claimer ? { ...ev, recent: true } as MailboxEvent : ev);
      } catch {
        // A listener's failure belongs to its session; it must not stop the others or the commit.
      }
    }
  }

  // ---- writing --------------------------------------------------------------------------------

  private writeBody(tx: Tx, bodyId: string, raw: RawMessage, summary: unknown): void {
    tx.write({ t: 'putBody', bodyId, raw, summary });
  }

  /** Adds one message record to a mailbox inside a transaction; visible after commit. */
  private addMessage(tx: Tx, user: string, box: MailboxIndex, bodyId: string, size: number, opts: AppendOptions): MessageMeta {
    const uid = box.allocUid();
    const modseq = box.allocModseq();
    const meta: MessageMeta = {
      uid,
      size,
      internalDate: opts.internalDate ?? Date.now(),
      flags: applyFlags([], 'set', opts.flags ?? []),
      modseq,
      uidl: opts.uidl ?? `${box.record.uidValidity}.${uid}`,
      bodyId,
    };
    tx.write({ t: 'putMessage', mailboxId: box.record.id, meta });
    tx.write({ t: 'addRef', bodyId, mailboxId: box.record.id, uid });
    tx.stage(box, uid, meta);
    this.writeRecord(tx, user, box);
    return meta;
  }

  /** Persists the mailbox counters as allocated so far; the last write in a round wins. */
  private writeRecord(tx: Tx, user: string, box: MailboxIndex): void {
    tx.write({
      t: 'putMailbox',
      user,
      record: { ...box.record, uidNext: box.nextUid, highestModseq: box.nextModseq - 1, expungeHorizon: box.expungeHorizon || undefined },
    });
  }

  private publishAdded(tx: Tx, box: MailboxIndex, metas: MessageMeta[]): void {
    if (metas.length === 0) return;
    const uidNext = box.nextUid;
    const highestModseq = box.nextModseq - 1;
    tx.onCommit(() => {
      box.add(metas);
      box.commitRecord({
        ...box.record,
        uidNext: Math.max(box.record.uidNext, uidNext),
        highestModseq: Math.max(box.record.highestModseq, highestModseq),
      });
      this.emit(box, { type: 'exists', mailboxId: box.record.id, messages: metas });
    });
  }

  private analyze(raw: RawMessage): unknown {
    return this.opts.analyzer ? this.opts.analyzer(raw) : undefined;
  }

  async append(user: string, mailbox: string, raw: RawMessage, opts: AppendOptions = {}): Promise<{ uidValidity: number; uid: number }> {
    this.opts.admitNewMail?.(raw.length);
    const box = await this.box(user, mailbox);
    const summary = this.analyze(raw);
    const bodyId = this.bodyIds.next();
    return this.commits.run((tx) => {
      live(box);
      this.writeBody(tx, bodyId, raw, summary);
      const meta = this.addMessage(tx, user, box, bodyId, raw.length, opts);
      this.publishAdded(tx, box, [meta]);
      return { uidValidity: box.record.uidValidity, uid: meta.uid };
    });
  }

  async deliver(users: readonly string[], raw: RawMessage, opts: { internalDate?: number } = {}): Promise<void> {
    this.opts.admitNewMail?.(raw.length);
    const boxes = await Promise.all(users.map(async (u) => ({ user: u, box: await this.box(u, INBOX) })));
    const summary = this.analyze(raw);
    const bodyId = this.bodyIds.next();
    const internalDate = opts.internalDate ?? Date.now();
    await this.commits.run((tx) => {
      live(...boxes.map((b) => b.box));
      this.writeBody(tx, bodyId, raw, summary);
      for (const { user, box } of boxes) {
        this.publishAdded(tx, box, [this.addMessage(tx, user, box, bodyId, raw.length, { internalDate })]);
      }
    });
  }

  async importMessages(user: string, mailbox: string, messages: readonly { raw: RawMessage; opts?: AppendOptions }[]): Promise<void> {
    this.opts.admitNewMail?.(messages.reduce((n, m) => n + m.raw.length, 0));
    const box = await this.box(user, mailbox);
    const prepared = messages.map((m) => ({ ...m, summary: this.analyze(m.raw), bodyId: this.bodyIds.next() }));
    await this.commits.run((tx) => {
      live(box);
      const metas = prepared.map((m) => {
        this.writeBody(tx, m.bodyId, m.raw, m.summary);
        return this.addMessage(tx, user, box, m.bodyId, m.raw.length, m.opts ?? {});
      });
      this.publishAdded(tx, box, metas);
    });
  }

  async storeFlags(
    user: string, mailbox: string, uids: readonly number[], mode: FlagMode, flags: readonly string[],
    opts: { unchangedSince?: number } = {},
  ): Promise<StoreFlagsResult> {
    const box = await this.box(user, mailbox);
    const updated: MessageMeta[] = [];
    const modified: number[] = [];
    await inSlices(uids, (slice) => this.commits.run((tx) => {
      const r = this.storeFlagsIn(tx, user, box, slice, mode, flags, opts);
      tx.onCommit(() => {
        for (const m of r.updated) updated.push(m);
        for (const uid of r.modified) modified.push(uid);
      });
    }));
    return { updated, modified };
  }

  private storeFlagsIn(
    tx: Tx, user: string, box: MailboxIndex, uids: readonly number[], mode: FlagMode, flags: readonly string[],
    opts: { unchangedSince?: number },
  ): StoreFlagsResult {
    live(box);
    const updated: MessageMeta[] = [];
    const modified: number[] = [];
    for (const uid of uids) {
      const cur = tx.meta(box, uid);
      if (!cur) continue;
      if (opts.unchangedSince !== undefined && cur.modseq > opts.unchangedSince) {
        modified.push(uid);
        continue;
      }
      const next = applyFlags(cur.flags, mode, flags);
      if (sameFlags(next, cur.flags)) continue;
      const meta: MessageMeta = { ...cur, flags: next, modseq: box.allocModseq() };
      tx.write({ t: 'putMessage', mailboxId: box.record.id, meta });
      tx.stage(box, uid, meta);
      updated.push(meta);
    }
    if (updated.length) {
      this.writeRecord(tx, user, box);
      const highestModseq = box.nextModseq - 1;
      tx.onCommit(() => {
        box.replace(updated);
        box.commitRecord({ ...box.record, highestModseq: Math.max(box.record.highestModseq, highestModseq) });
        this.emit(box, { type: 'flags', mailboxId: box.record.id, messages: updated });
      });
    }
    return { updated, modified };
  }

  /** Unlinks messages from a mailbox inside a transaction; `reclaim` queues their bodies. */
  private unlink(tx: Tx, user: string, box: MailboxIndex, uids: readonly number[], reclaim: boolean): MessageMeta[] {
    live(box);
    const gone: MessageMeta[] = [];
    for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
      const cur = tx.meta(box, uid);
      if (!cur) continue;
      tx.write({ t: 'unlink', mailboxId: box.record.id, uid, bodyId: cur.bodyId });
      tx.stage(box, uid, null);
      gone.push(cur);
    }
    if (gone.length === 0) return gone;
    const modseq = box.allocModseq();
    const goneUids = gone.map((m) => m.uid);
    tx.write({ t: 'logExpunge', mailboxId: box.record.id, modseq, uids: goneUids });
    // The log keeps a fixed number of records per mailbox, so its size and this write's cost stay
    // bounded; a client resyncing from before the horizon is told so (ChangesSince.complete).
    box.expungeLog.push(modseq);
    while (box.expungeLog.length > this.expungeLogKeep) {
      const old = box.expungeLog.shift()!;
      tx.write({ t: 'dropExpungeLog', mailboxId: box.record.id, modseq: old });
      box.expungeHorizon = Math.max(box.expungeHorizon, old);
    }
    const horizon = box.expungeHorizon;
    this.writeRecord(tx, user, box);
    const at = Date.now();
    const items: ReclaimItem[] = reclaim
      ? gone.map((m) => ({
          t: 'body', b: m.bodyId, at, bytes: m.size,
          from: { mailboxId: box.record.id, flags: m.flags, internalDate: m.internalDate },
        }))
      : [];
    for (const item of items) tx.write({ t: 'queueReclaim', owner: user, seq: this.nextReclaimSeq++, item });
    tx.onCommit(() => {
      box.remove(goneUids);
      box.commitRecord({
        ...box.record,
        highestModseq: Math.max(box.record.highestModseq, modseq),
        expungeHorizon: Math.max(box.record.expungeHorizon ?? 0, horizon) || undefined,
      });
      this.emit(box, { type: 'expunge', mailboxId: box.record.id, uids: goneUids, modseq });
      this.reclaimer.queued(user, items);
    });
    return gone;
  }

  async expunge(user: string, mailbox: string, uids: readonly number[]): Promise<number[]> {
    const box = await this.box(user, mailbox);
    const gone: number[] = [];
    await inSlices(uids, async (slice) => {
      for (const m of await this.commits.run((tx) => this.unlink(tx, user, box, slice, true))) gone.push(m.uid);
    });
    return gone;
  }

  private async transfer(user: string, from: string, uids: readonly number[], to: string, remove: boolean): Promise<CopyResult> {
    const src = await this.box(user, from);
    const dst = await this.box(user, to);
    return this.commits.run((tx) => {
      live(src, dst);
      const mapping: [number, number][] = [];
      const added: MessageMeta[] = [];
      const sources: MessageMeta[] = [];
      for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
        const cur = tx.meta(src, uid);
        if (!cur) continue;
        const meta = this.addMessage(tx, user, dst, cur.bodyId, cur.size, { flags: cur.flags, internalDate: cur.internalDate });
        mapping.push([uid, meta.uid]);
        added.push(meta);
        sources.push(cur);
      }
      // A move within one mailbox is still a copy and an expunge (RFC 6851 3.3): new UIDs. Watchers
      // hear of the expunge before the arrival, so a session on that mailbox counts down, then up.
      if (remove) this.unlink(tx, user, src, sources.map((m) => m.uid), false);
      this.publishAdded(tx, dst, added);
      return { uidValidity: dst.record.uidValidity, mapping };
    });
  }

  /** One atomic write: a COPY that fails must leave the destination as it was (RFC 3501 6.4.7). */
  copy(user: string, from: string, uids: readonly number[], to: string): Promise<CopyResult> {
    return this.transfer(user, from, uids, to, false);
  }

  /**
   * In slices, like an expunge: a mail client deletes a whole folder by moving it to Trash, and one
   * write for 100k messages held every account's writes behind it. RFC 6851 3.3 asks that each
   * message be moved or untouched, not that the set move at once; a failure part of the way is a
   * PartialMoveError that says which messages did move.
   */
  async move(user: string, from: string, uids: readonly number[], to: string): Promise<CopyResult> {
    await this.box(user, from);
    const dst = await this.box(user, to);
    const mapping: (readonly [number, number])[] = [];
    try {
      await inSlices(uids, async (slice) => {
        for (const pair of (await this.transfer(user, from, slice, to, true)).mapping) mapping.push(pair);
      });
    } catch (err) {
      if (mapping.length) throw new PartialMoveError(err, { uidValidity: dst.record.uidValidity, mapping });
      throw err;
    }
    return { uidValidity: dst.record.uidValidity, mapping };
  }

  /**
   * Puts back messages expunged from the user's mailboxes at or after `since`, while retention keeps
   * them, with new UIDs (never their old ones: a client may have seen those go). A message whose
   * mailbox was deleted since goes to INBOX. Returns how many came back.
   */
  async undelete(user: string, since = 0): Promise<number> {
    const acct = await this.account(user);
    // Items close to their reclaim time are left alone, so the reclaimer and undelete never race.
    const horizon = Date.now() - this.retentionMs + UNDELETE_MARGIN_MS;
    const found: { seq: number; item: Extract<ReclaimItem, { t: 'body' }> }[] = [];
    for (const { seq, item } of await this.read(() => this.backend.queued(user, Infinity))) {
      if (item.t === 'body' && item.from && item.at >= since && item.at >= horizon) found.push({ seq, item });
    }
    if (found.length === 0) return 0;
    return this.commits.run((tx) => {
      const byBox = new Map<MailboxIndex, MessageMeta[]>();
      for (const { seq, item } of found) {
        const box = [...acct.boxes.values()].find((b) => b.record.id === item.from!.mailboxId) ?? acct.boxes.get(INBOX)!;
        const meta = this.addMessage(tx, user, box, item.b, item.bytes, { flags: item.from!.flags, internalDate: item.from!.internalDate });
        byBox.set(box, [...(byBox.get(box) ?? []), meta]);
        tx.write({ t: 'dequeueReclaim', owner: user, seq });
      }
      for (const [box, metas] of byBox) this.publishAdded(tx, box, metas);
      tx.onCommit(() => this.reclaimer.dequeued(user, found.map((f) => f.item)));
      return found.length;
    });
  }

  // ---- housekeeping ---------------------------------------------------------------------------

  /** Resolves when every queued deletion has been physically reclaimed. */
  reclaimDrained(): Promise<void> {
    return this.reclaimer.drained();
  }

  stats(): StoreStats {
    let mailboxesLoaded = 0;
    for (const a of this.accounts.values()) mailboxesLoaded += a.boxes.size;
    const r = this.reclaimer.stats;
    return {
      users: this.accounts.size,
      mailboxesLoaded,
      commitGroups: this.commits.stats.rounds,
      commits: this.commits.stats.jobs,
      reclaimBacklog: {
        bodies: r.backlogItems, bytes: r.backlogBytes, oldestMs: r.oldestAt ? Date.now() - r.oldestAt : 0, accounts: this.reclaimer.accountsWaiting,
      },
      reclaimed: { bodies: r.reclaimedBodies, bytes: r.reclaimedBytes },
      ...(this.backend.shared ? { nodes: { ...this.sharing, reclaiming: this.backend.shared.reclaiming } } : {}),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.commits.idle();
    await this.reclaimer.stop();
    this.closed = true;
    clearTimeout(this.catchUpTimer);
    await this.backend.close();
  }
}

/**
 * A mutation holds the mailboxes it looked up before its turn in the commit queue; one deleted
 * meanwhile (here, or by another node) must not be written again: its row would come back with its
 * id, under a reclaimer that is emptying it. Called first in a prepare, before it writes anything.
 */
function live(...boxes: MailboxIndex[]): void {
  for (const b of boxes) if (b.gone) throw new MailboxNotFoundError(b.record.name);
}
