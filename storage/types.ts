// The storage contract: the only thing protocol code may know about storage.
// One engine (storage/engine/) implements it over every backend (LevelDB on disk, plain memory, later
// PostgreSQL); each backend passes the same conformance tests in test/storage/ (storage/README.md).

/** One live message as listed in a mailbox. Immutable: a change produces a new object. */
export interface MessageMeta {
  readonly uid: number;
  /** Size in octets of the stored message, CRLF line ends (what RFC822.SIZE, LIST and STAT report). */
  readonly size: number;
  /** INTERNALDATE, ms since the epoch. */
  readonly internalDate: number;
  readonly flags: readonly string[];
  readonly modseq: number;
  /** POP3 UIDL, fixed when the message was stored (invariant 1). */
  readonly uidl: string;
  /** Opaque handle for readBody/readSummary; shared by copies of the same delivered body. */
  readonly bodyId: string;
}

export interface MailboxInfo {
  readonly name: string;
  readonly id: number;
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly highestModseq: number;
  readonly messages: number;
  readonly unseen: number;
  /** Messages still \Recent (RFC 3501 2.3.2): arrived since a session last claimed them. */
  readonly recent?: number;
  /** UID of the first message without \Seen (0: none). A running figure, like the counts. */
  readonly firstUnseenUid?: number;
  /** Keywords ever used in the mailbox (RFC 3501 FLAGS), kept as the mailbox changes; never shrinks. */
  readonly keywords?: readonly string[];
  readonly specialUse?: string;
  readonly subscribed: boolean;
}

/**
 * A consistent view of one mailbox at one moment (invariant 2). Messages are sorted by UID;
 * message sequence number n is messages[n-1]. The array is never mutated after it is handed out.
 */
export interface MailboxSnapshot {
  readonly mailbox: MailboxInfo;
  readonly messages: readonly MessageMeta[];
  /** Messages with this UID or above are \Recent for the session that took the snapshot. */
  readonly firstRecentUid?: number;
}

/**
 * RFC 3501 2.3.2: a message is \Recent in exactly one session — the first to see it with the mailbox
 * selected read-write. A claiming snapshot takes the mailbox's recent messages; a claiming watcher
 * gets each new arrival as recent (its `exists` event says `recent: true`) unless another claimed it.
 */
export interface RecentOptions {
  claimRecent?: boolean;
}

export type FlagMode = 'add' | 'remove' | 'set';

export interface AppendOptions {
  flags?: readonly string[];
  internalDate?: number;
  /** Keep a UIDL from another server (migration); default `<uidvalidity>.<uid>`. */
  uidl?: string;
}

export interface StoreFlagsResult {
  /** Messages whose flags changed, with their new modseq. */
  readonly updated: readonly MessageMeta[];
  /** UIDs left alone because their modseq was above UNCHANGEDSINCE (RFC 7162). */
  readonly modified: readonly number[];
}

export interface CopyResult {
  readonly uidValidity: number;
  /** [sourceUid, destinationUid] pairs in source-UID order. */
  readonly mapping: readonly (readonly [number, number])[];
}

export interface ChangesSince {
  /** Live messages whose modseq is above the given one. */
  readonly changed: readonly MessageMeta[];
  /** UIDs expunged after the given modseq, as far as the change log horizon reaches. */
  readonly vanished: readonly number[];
  /** False when `since` is older than the expunge log keeps (client must resync fully). */
  readonly complete: boolean;
}

/** What happened in a mailbox, for IDLE and for other sessions on the same mailbox. */
export type MailboxEvent =
  | { readonly type: 'exists'; readonly mailboxId: number; readonly messages: readonly MessageMeta[]; readonly recent?: boolean }
  | { readonly type: 'flags'; readonly mailboxId: number; readonly messages: readonly MessageMeta[] }
  | { readonly type: 'expunge'; readonly mailboxId: number; readonly uids: readonly number[]; readonly modseq: number }
  | { readonly type: 'deleted'; readonly mailboxId: number };

export type MailboxListener = (event: MailboxEvent) => void;

/** A message as handed over for storage: the raw RFC 822 octets, CRLF line ends. */
export type RawMessage = Buffer;

/**
 * Derives what a protocol wants to know about a message once, at delivery (ENVELOPE,
 * BODYSTRUCTURE, part offsets). The store keeps its output opaque and returns it from readSummary.
 */
export interface MessageAnalyzer {
  (raw: RawMessage): unknown;
  /**
   * Whether a stored summary has the shape this analyzer writes now. One that does not (stored by an
   * older version) is derived again from the body when read, never handed out to be misread.
   */
  readonly current?: (summary: unknown) => boolean;
}

export interface StoreStats {
  readonly users: number;
  readonly mailboxesLoaded: number;
  readonly commitGroups: number;
  readonly commits: number;
  readonly reclaimBacklog: {
    readonly bodies: number;
    readonly bytes: number;
    readonly oldestMs: number;
    /** Accounts with something queued (the reclaimer visits them in turn). */
    readonly accounts: number;
  };
  /** Reclaimed since the store opened (a rate over time is the reclaimer's throughput). */
  readonly reclaimed: { readonly bodies: number; readonly bytes: number };
  /**
   * On a store several nodes share: accounts reloaded because another node changed them, commit
   * rounds refused because another node wrote one of their accounts first (each then reloads and
   * tries again), and whether this node runs the reclaimer.
   */
  readonly nodes?: { readonly reloads: number; readonly conflicts: number; readonly reclaiming: boolean };
}

/** Bytes [start, end) of one stored body. */
export interface BodyRange {
  bodyId: string;
  start: number;
  end: number;
}

export interface MailStore {
  /** Creates the account with INBOX and the special-use folders if it does not exist. */
  ensureUser(user: string): Promise<void>;
  /** All mailboxes of a user, sorted by name. */
  listMailboxes(user: string): Promise<MailboxInfo[]>;
  getMailbox(user: string, name: string): Promise<MailboxInfo | undefined>;
  createMailbox(user: string, name: string, opts?: { specialUse?: string }): Promise<MailboxInfo>;
  /** Logical delete now; its messages go to the reclaimer. INBOX cannot be deleted. */
  deleteMailbox(user: string, name: string): Promise<void>;
  /** The account and all its mailboxes go at once, in one write; the reclaimer frees their mail. */
  deleteAccount(user: string): Promise<void>;
  /** RFC 3501 rename; renaming INBOX moves its messages to the new mailbox and leaves INBOX empty. */
  renameMailbox(user: string, from: string, to: string): Promise<void>;
  /** RFC 3501 6.3.6: a name may be subscribed whether or not the mailbox exists; DELETE keeps it. */
  setSubscribed(user: string, name: string, subscribed: boolean): Promise<void>;
  /** Every subscribed name, existing or not, sorted. */
  subscriptions(user: string): Promise<string[]>;

  /** A consistent snapshot of the live messages (invariant 2). */
  snapshot(user: string, mailbox: string, opts?: RecentOptions): Promise<MailboxSnapshot>;
  /** Stores a message durably (invariant 3) and returns its identity. */
  append(user: string, mailbox: string, raw: RawMessage, opts?: AppendOptions): Promise<{ uidValidity: number; uid: number }>;
  /** One body, one INBOX entry per recipient, one durable atomic write. */
  deliver(users: readonly string[], raw: RawMessage, opts?: { internalDate?: number }): Promise<void>;
  /** Bulk import: many messages in large atomic batches (durable when it resolves). */
  importMessages(user: string, mailbox: string, messages: readonly { raw: RawMessage; opts?: AppendOptions }[]): Promise<void>;

  /**
   * Streams the body bytes [start, end) of a message (whole message by default). `account`, here and
   * in readBodies/readSummary: whose message it is, so that a store sharded by account reads it from
   * that account's cluster at once (storage/shards/); without it, such a store asks every cluster.
   */
  readBody(bodyId: string, start?: number, end?: number, account?: string): AsyncIterable<Buffer>;
  /**
   * Several body ranges in one store round trip, each returned as its chunks in order. A FETCH of
   * many small messages pays one lookup for the lot instead of one per message. Throws
   * MessageGoneError if any body is gone. Meant for ranges of bounded total size.
   */
  readBodies(ranges: readonly BodyRange[], account?: string): Promise<Buffer[][]>;
  /**
   * Keeps these bodies from being reclaimed until the returned release is called, for a reader that
   * tells a client a body's length before it has read the bytes (an IMAP literal): another session's
   * expunge must not free the body half-way through. A body already gone stays gone: read it right
   * after this resolves, before sending anything of it. readBody holds its own body while it streams.
   */
  holdBodies(bodyIds: readonly string[], account?: string): Promise<() => void>;
  readSummary(bodyId: string, account?: string): Promise<unknown>;

  storeFlags(user: string, mailbox: string, uids: readonly number[], mode: FlagMode, flags: readonly string[], opts?: { unchangedSince?: number }): Promise<StoreFlagsResult>;
  /** Removes messages from the live index durably; returns the UIDs that were expunged. */
  expunge(user: string, mailbox: string, uids: readonly number[]): Promise<number[]>;
  copy(user: string, from: string, uids: readonly number[], to: string): Promise<CopyResult>;
  /**
   * Copy + expunge; each message is moved or untouched. A large set goes in several atomic writes, and
   * a failure part of the way throws PartialMoveError, which says which messages did move.
   */
  move(user: string, from: string, uids: readonly number[], to: string): Promise<CopyResult>;
  changesSince(user: string, mailbox: string, modseq: number): Promise<ChangesSince>;

  /** Subscribe to a mailbox's events; returns the unsubscribe function. */
  watch(user: string, mailbox: string, listener: MailboxListener, opts?: RecentOptions): Promise<() => void>;

  stats(): StoreStats;
  close(): Promise<void>;
}

/**
 * What operators and the CLI need beyond the protocols: every account, putting back expunged mail,
 * and waiting for the deletion backlog (`stats().reclaimBacklog` says how big it is).
 */
export interface MailStoreAdmin {
  /** Every account in the store, sorted. */
  listUsers(): Promise<string[]>;
  /**
   * Puts back messages expunged at or after `since` (ms) that retention still keeps, with new UIDs
   * (a client saw the old ones go). A message whose mailbox is gone returns to INBOX. Returns how many.
   */
  undelete(user: string, since?: number): Promise<number>;
  /** Resolves when every queued deletion has been physically reclaimed. */
  reclaimDrained(): Promise<void>;
}

/** What openStore hands out: the protocols' interface and the operators' one, never a backend class. */
export type Store = MailStore & MailStoreAdmin;
