// Encoding of the values stored under the keys of keys.ts. Compact JSON: a mailbox of 300k
// messages is read at most once per process, so decode speed and size matter more than readability.
// Every record is checked when it is read: a value of the wrong shape (damaged, or from a newer
// format) is refused with StoreFormatError naming the key, never misread. The store as a whole
// carries a format number (FORMAT_KEY); a later format that changes a record upgrades it here.
import { StoreFormatError } from '../errors.ts';
import type { Counters, MailboxRecord, ReclaimItem } from '../engine/index.ts';
import type { MessageMeta } from '../types.ts';

/** The layout and encodings of this file and keys.ts. Stores without the marker are format 1. */
export const FORMAT = 1;

const enc = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

function dec(key: string, b: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
  } catch {
    throw bad(key, 'is not JSON');
  }
}

const bad = (key: string, why: string) => new StoreFormatError(`stored record ${key} ${why}: damaged, or written by a newer tegami`);
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((f) => typeof f === 'string');

export const encodeMeta = (m: MessageMeta): Buffer =>
  enc([m.uid, m.size, m.internalDate, m.flags, m.modseq, m.uidl, m.bodyId]);

export function decodeMeta(key: string, b: Uint8Array): MessageMeta {
  const v = dec(key, b);
  if (!Array.isArray(v) || v.length !== 7) throw bad(key, 'is not a message');
  const [uid, size, internalDate, flags, modseq, uidl, bodyId] = v as unknown[];
  if (!isInt(uid) || !isInt(size) || typeof internalDate !== 'number' || !isStrings(flags) || !isInt(modseq)
    || typeof uidl !== 'string' || typeof bodyId !== 'string') throw bad(key, 'is not a message');
  return { uid, size, internalDate, flags, modseq, uidl, bodyId };
}

export const encodeMailbox = (r: MailboxRecord): Buffer => enc(r);

export function decodeMailbox(key: string, b: Uint8Array): MailboxRecord {
  const r = dec(key, b) as MailboxRecord;
  if (typeof r !== 'object' || r === null || !isInt(r.id) || typeof r.name !== 'string' || !isInt(r.uidValidity)
    || !isInt(r.uidNext) || !isInt(r.highestModseq) || typeof r.subscribed !== 'boolean'
    || (r.specialUse !== undefined && typeof r.specialUse !== 'string')
    || (r.expungeHorizon !== undefined && !isInt(r.expungeHorizon))) throw bad(key, 'is not a mailbox');
  return r;
}

export const encodeCounters = (c: Counters): Buffer => enc(c);

export function decodeCounters(key: string, b: Uint8Array): Counters {
  const c = dec(key, b) as Counters;
  if (typeof c !== 'object' || c === null || !isInt(c.nextMailboxId) || !isInt(c.lastUidValidity)) throw bad(key, 'is not the counters');
  return c;
}

export const encodeReclaimItem = (it: ReclaimItem): Buffer => enc(it);

export function decodeReclaimItem(key: string, b: Uint8Array): ReclaimItem {
  const it = dec(key, b) as ReclaimItem;
  const ok = typeof it === 'object' && it !== null && typeof it.at === 'number' && (
    (it.t === 'mailbox' && isInt(it.m))
    || (it.t === 'body' && typeof it.b === 'string' && isInt(it.bytes) && (it.from === undefined
      || (isInt(it.from.mailboxId) && isStrings(it.from.flags) && typeof it.from.internalDate === 'number'))));
  if (!ok) throw bad(key, 'is not a reclaim item');
  return it;
}

export const encodeUids = (uids: readonly number[]): Buffer => enc(uids);

export function decodeUids(key: string, b: Uint8Array): number[] {
  const v = dec(key, b);
  if (!Array.isArray(v) || !v.every(isInt)) throw bad(key, 'is not a list of UIDs');
  return v;
}

export const encodeUser = (created: number): Buffer => enc({ created });

/**
 * The analyzer's summary, opaque to the store, kept as JSON. Its own version is the analyzer's
 * business (it re-derives what it cannot read); here it only has to be JSON.
 */
export const encodeSummary = (summary: unknown): Buffer => enc(summary);
export const decodeSummary = (key: string, b: Uint8Array): unknown => dec(key, b);

export const encodeFormat = (): Buffer => enc({ format: FORMAT });

/** Refuses a store written in a newer format; a store without the marker is format 1. */
export function checkFormat(key: string, b: Uint8Array | undefined): void {
  if (!b) return;
  const v = dec(key, b) as { format?: unknown };
  if (typeof v !== 'object' || v === null || !isInt(v.format)) throw bad(key, 'is not a format marker');
  if (v.format > FORMAT) {
    throw new StoreFormatError(`this store is in format ${v.format}, written by a newer tegami; this one reads formats up to ${FORMAT}`);
  }
}
