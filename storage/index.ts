// The storage package's public face: the contract types, the errors, and how to open a store.
import { Level } from 'level';
import { MemoryLevel } from 'memory-level';
import { classicDb } from './level/classic-db.ts';
import { LevelStore, type KvDb } from './level/level-store.ts';
import type { MessageAnalyzer, Store } from './types.ts';

export type * from './types.ts';
export * from './errors.ts';
export { DELIMITER, INBOX, normalizeMailboxName } from './mailbox-names.ts';

export interface OpenStoreOptions {
  /** Directory of the LevelDB database. Required unless `memory` is true. */
  path?: string;
  memory?: boolean;
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
}

const ENCODINGS = { keyEncoding: 'utf8', valueEncoding: 'view' } as const;

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  let db: KvDb;
  if (opts.memory) db = new MemoryLevel<string, Uint8Array>(ENCODINGS) as unknown as KvDb;
  else if (opts.path) db = classicDb(new Level<string, Uint8Array>(opts.path, { ...ENCODINGS, compression: false }));
  else throw new Error('openStore needs a path or memory: true');
  return LevelStore.open(db, {
    analyzer: opts.analyzer,
    sync: !opts.memory,
    reclaimGate: opts.reclaimGate,
    reclaimStepKeys: opts.reclaimStepKeys,
    retentionMs: opts.retentionMs,
    expungeLogKeep: opts.expungeLogKeep,
    onBackgroundError: opts.onBackgroundError ?? ((err) => console.error('tegami: background reclaim step failed, retrying:', err)),
  });
}
