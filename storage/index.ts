// The storage package's public face: the contract types, the errors, and how to open a store. Only
// this file picks a backend; everything outside storage/ gets the interfaces (MailStore, MailStoreAdmin).
import { Level } from 'level';
import { MailEngine } from './engine/mail-engine.ts';
import { classicDb } from './level/classic-db.ts';
import { LevelBackend } from './level/level-backend.ts';
import { MemoryBackend } from './memory/memory-backend.ts';
import type { MessageAnalyzer, Store } from './types.ts';

export type * from './types.ts';
export * from './errors.ts';
export { DELIMITER, INBOX, normalizeMailboxName } from './mailbox-names.ts';

export interface OpenStoreOptions {
  /** Directory of the LevelDB database. Required unless `memory` is true. */
  path?: string;
  /** Keep everything in memory (nothing survives close): for embedding and tests. */
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
  const { path, memory, ...engine } = opts;
  let backend;
  if (memory) backend = new MemoryBackend();
  else if (path) backend = new LevelBackend(classicDb(new Level<string, Uint8Array>(path, { ...ENCODINGS, compression: false })), true);
  else throw new Error('openStore needs a path or memory: true');
  return MailEngine.open(backend, {
    ...engine,
    onBackgroundError: opts.onBackgroundError ?? ((err) => console.error('tegami: background reclaim step failed, retrying:', err)),
  });
}
