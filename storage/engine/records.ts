// The records the engine keeps through a backend, as plain values. How they are laid out and encoded
// is the backend's business (storage/level/records.ts for LevelDB); what they mean is decided here.

export interface MailboxRecord {
  id: number;
  name: string;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  specialUse?: string;
  subscribed: boolean;
  /** The expunge log was pruned up to here: changes at or below this modseq may be missing from it. */
  expungeHorizon?: number;
}

export interface Counters {
  nextMailboxId: number;
  lastUidValidity: number;
}

/** What undelete needs to put an expunged message back (with a new UID); the account is the queue's owner. */
export interface ExpungedFrom {
  mailboxId: number;
  flags: readonly string[];
  internalDate: number;
}

/** One entry of an account's durable reclaim queue (invariant 4). `at`: when it was queued, ms. */
export type ReclaimItem =
  | { t: 'body'; b: string; at: number; bytes: number; from?: ExpungedFrom }
  | { t: 'mailbox'; m: number; at: number };

/** A queue entry with its place: `seq` orders an account's queue and is allocated by the engine. */
export interface QueuedReclaim {
  readonly owner: string;
  readonly seq: number;
  readonly item: ReclaimItem;
}
