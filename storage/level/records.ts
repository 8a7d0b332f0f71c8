// Encoding of the values stored under the keys of keys.ts. Compact JSON: a mailbox of 300k
// messages is read at most once per process, so decode speed and size matter more than readability.
import type { MessageMeta } from '../types.ts';

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

/** What undelete needs to put an expunged message back (with a new UID); the account is in the queue key. */
export interface ExpungedFrom {
  mailboxId: number;
  flags: readonly string[];
  internalDate: number;
}

export type ReclaimItem =
  | { t: 'body'; b: string; at: number; bytes: number; from?: ExpungedFrom }
  | { t: 'mailbox'; m: number; at: number };

const enc = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const dec = (b: Uint8Array): any => JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));

export const encodeMeta = (m: MessageMeta): Buffer =>
  enc([m.uid, m.size, m.internalDate, m.flags, m.modseq, m.uidl, m.bodyId]);

export function decodeMeta(b: Uint8Array): MessageMeta {
  const [uid, size, internalDate, flags, modseq, uidl, bodyId] = dec(b);
  return { uid, size, internalDate, flags, modseq, uidl, bodyId };
}

export const encodeJson = enc;
export const decodeJson = dec as <T>(b: Uint8Array) => T;
