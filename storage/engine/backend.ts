// The narrow interface between the engine (storage/engine/) and a place that keeps the data
// (storage/level/ LevelDB, storage/memory/, later PostgreSQL). The engine owns every rule — UID,
// modseq and UIDVALIDITY allocation, flags, slices, rename and move semantics, events, the reclaim
// schedule — and hands a backend only finished facts: a commit is a list of typed changes that must be
// applied all or nothing, and reads are by keys or ranges the engine already knows.
// storage/README.md says what a new backend must do and which tests prove it.
import type { BodyRange, MessageMeta, RawMessage } from '../types.ts';
import type { Counters, MailboxRecord, QueuedReclaim, ReclaimItem } from './records.ts';

/** One change of a commit. A backend applies a commit's changes in order, all or none. */
export type Change =
  /** The store-wide counters (next mailbox id, last UIDVALIDITY), as allocated by the engine. */
  | { readonly t: 'counters'; readonly counters: Counters }
  | { readonly t: 'putUser'; readonly user: string; readonly created: number }
  | { readonly t: 'delUser'; readonly user: string }
  /** Creates or replaces a mailbox record (its name is part of its identity: a rename is del + put). */
  | { readonly t: 'putMailbox'; readonly user: string; readonly record: MailboxRecord }
  | { readonly t: 'delMailbox'; readonly user: string; readonly name: string }
  /** A message's bytes and the analyzer's summary of them; shared by every message with its id. */
  | { readonly t: 'putBody'; readonly bodyId: string; readonly raw: RawMessage; readonly summary: unknown }
  /** Creates or replaces a live message (a flag change replaces it). */
  | { readonly t: 'putMessage'; readonly mailboxId: number; readonly meta: MessageMeta }
  /** Marks a body as used by a live message, for the reclaimer's `referenced`. */
  | { readonly t: 'addRef'; readonly bodyId: string; readonly mailboxId: number; readonly uid: number }
  /** Removes a live message and its reference marker. */
  | { readonly t: 'unlink'; readonly mailboxId: number; readonly uid: number; readonly bodyId: string }
  /** UIDs expunged at a modseq (QRESYNC VANISHED). */
  | { readonly t: 'logExpunge'; readonly mailboxId: number; readonly modseq: number; readonly uids: readonly number[] }
  /** Forgets one expunge-log record, or every record of the mailbox when modseq is absent. */
  | { readonly t: 'dropExpungeLog'; readonly mailboxId: number; readonly modseq?: number }
  /**
   * A backend shared by several processes may number the item itself, in the same order (PostgreSQL:
   * a sequence), since each process's counter knows only its own items; the engine dequeues only
   * items it read back with their stored seq, never one it queued in the same commit.
   */
  | { readonly t: 'queueReclaim'; readonly owner: string; readonly seq: number; readonly item: ReclaimItem }
  | { readonly t: 'dequeueReclaim'; readonly owner: string; readonly seq: number }
  /** Frees a body that no live message uses any more (its bytes and its summary). */
  | { readonly t: 'dropBody'; readonly bodyId: string; readonly bytes: number };

/** One mailbox as stored: its record, live messages in UID order, and its expunge-log modseqs. */
export interface StoredMailbox {
  readonly record: MailboxRecord;
  readonly messages: MessageMeta[];
  readonly expungeLog: number[];
}

/** One account's durable reclaim queue in figures (a GROUP BY, in SQL). */
export interface QueueSummary {
  readonly owner: string;
  readonly items: number;
  /** Bytes of the bodies queued. */
  readonly bytes: number;
  /** The oldest item's `at`, ms. */
  readonly oldestAt: number;
  /** The highest sequence number in the queue. */
  readonly maxSeq: number;
}

/** What the engine needs when it opens: counters, and the reclaim queues to resume from. */
export interface BackendState {
  readonly counters: Counters | undefined;
  readonly reclaimQueues: readonly QueueSummary[];
}

/**
 * What a commit expects of a store that several processes write (a backend with `shared`): each
 * account it touches is still at the version this process's index was built on (null: the account
 * is new and must not exist yet), and the store-wide counters are still as this process last read
 * them. A backend checks this inside the commit's own transaction and refuses the whole commit with
 * CommitConflictError when another process got there first.
 */
export interface CommitExpectations {
  readonly versions: ReadonlyMap<string, number | null>;
  /** Present when the commit writes the counters: their value before it. */
  readonly counters?: Counters;
}

/** A commit's outcome in a versioned backend: each account's new version. */
export interface CommitResult {
  readonly versions: ReadonlyMap<string, number>;
}

/**
 * Another process committed first: these accounts (or the counters) moved since this process read
 * them. Nothing of the commit was applied; the engine refreshes what it names and tries again.
 */
export class CommitConflictError extends Error {
  override name = 'CommitConflictError';
  constructor(readonly accounts: readonly string[], readonly counters: boolean) {
    super(`another node changed ${[...accounts.map((a) => `account ${a}`), ...(counters ? ['the counters'] : [])].join(', ')} first`);
  }
}

/**
 * The commit was sent but its answer never came (the connection broke, the primary failed over): it
 * may or may not have been applied. The caller gets a temporary error; the engine marks the accounts
 * the commit touched stale and reloads them from the store before it writes them again, so it never
 * builds on a guess (SharedBackend).
 */
export class CommitOutcomeUnknownError extends Error {
  override name = 'CommitOutcomeUnknownError';
}

/** One account as loaded, with the version its rows were read at. */
export interface VersionedAccount {
  readonly mailboxes: StoredMailbox[];
  readonly version: number;
}

/** What another process did to an account, as a backend hears of it. */
export interface RemoteChange {
  readonly user: string;
  /** The account's version after that commit. */
  readonly version: number;
  /** That commit queued reclaim items for the account (the reclaiming process counts them). */
  readonly queued: boolean;
}

/**
 * A backend that several tegami processes share (PostgreSQL). Each process keeps the indexes of the
 * accounts it serves in memory; accounts carry a version that every commit checks and moves
 * (CommitExpectations). Through this interface the engine hears of other processes' commits, catches
 * up after it may have missed some, and learns whether it runs the one reclaimer.
 */
export interface SharedBackend {
  /** Loads an account with its version, read in one snapshot. */
  loadVersioned(user: string): Promise<VersionedAccount | undefined>;
  /** The current versions of these accounts (absent: the account is gone). */
  versions(users: readonly string[]): Promise<Map<string, number>>;
  /** The counters as stored now. */
  counters(): Promise<Counters>;
  /** The reclaim queues of these accounts in figures (all accounts when omitted). */
  queueSummaries(owners?: readonly string[]): Promise<QueueSummary[]>;
  /**
   * Starts telling the engine about other processes' commits (`changed`), about a gap in which some
   * may have been missed (`missed`: after a lost connection; the engine compares `versions`), and
   * about the reclaim role (`reclaiming`: true when this process became the one that reclaims).
   */
  listen(events: { changed(c: RemoteChange): void; missed(): void; reclaiming(held: boolean): void }): void;
  /** Whether this process holds the reclaim role now. */
  readonly reclaiming: boolean;
}

export interface Backend {
  /** Present in a backend several processes share (PostgreSQL); absent means one writer, no versions. */
  readonly shared?: SharedBackend;
  open(): Promise<BackendState>;
  /** The account's mailboxes, or undefined when there is no such account. */
  load(user: string): Promise<StoredMailbox[] | undefined>;
  /**
   * Applies the changes atomically. `durable`: on stable storage before it resolves (invariant 3);
   * reclaim steps ask for less, since they are redone from the durable queue after a crash.
   */
  commit(changes: readonly Change[], opts: { durable: boolean; expect?: CommitExpectations }): Promise<CommitResult | void>;
  /**
   * Bytes [start, end) of each body, as chunks in order. A range past a body's end is cut short (the
   * engine streams a body of unknown length by asking window after window); a body that is gone
   * throws MessageGoneError when its range starts at 0.
   */
  readBodyRanges(ranges: readonly BodyRange[]): Promise<Buffer[][]>;
  /** The summary stored with the body (undefined if it was stored without one). */
  readSummary(bodyId: string): Promise<unknown>;
  /** UIDs logged as expunged in the mailbox above this modseq. */
  expungedSince(mailboxId: number, modseq: number): Promise<number[]>;
  /** The first `limit` items of an account's reclaim queue, in queue order. */
  queued(owner: string, limit: number): Promise<QueuedReclaim[]>;
  /** Up to `limit` messages still filed under a deleted mailbox, for the reclaimer to unlink. */
  leftInMailbox(mailboxId: number, limit: number): Promise<MessageMeta[]>;
  /** The bodies among these that a live message still uses. */
  referenced(bodyIds: readonly string[]): Promise<Set<string>>;
  listUsers(): Promise<string[]>;
  /** Housekeeping after the reclaimer's round (LevelDB compacts ranges full of tombstones). */
  compact?(): Promise<void>;
  close(): Promise<void>;
}
