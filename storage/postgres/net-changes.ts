// A commit's changes reduced to their net effect per row: the engine hands over a list to apply in
// order, and a group commit holds hundreds of small changes interleaved across tables (body, message,
// mailbox record, … per delivery). Applied one statement each, that is hundreds of round trips to
// PostgreSQL per commit. Since every change is a put or a delete of one keyed row, the last change
// to a key decides it; what is left becomes one multi-row statement per table and kind (backend).
// The one range change, "drop a mailbox's whole expunge log", forgets the earlier puts of that mailbox
// and is applied before the puts that followed it.
import type { Change, Counters, MailboxRecord, ReclaimItem } from '../engine/index.ts';
import type { MessageMeta, RawMessage } from '../types.ts';

/** key → the row to write, or null to delete it */
type Rows<K, V> = Map<string, { readonly key: K; readonly row: V | null }>;

export interface NetChanges {
  counters?: Counters;
  users: Rows<string, { created: number }>;
  mailboxes: Rows<{ user: string; name: string }, MailboxRecord>;
  messages: Rows<{ mailboxId: number; uid: number }, MessageMeta>;
  expungeLog: Rows<{ mailboxId: number; modseq: number }, readonly number[]>;
  /** mailboxes whose whole expunge log goes, before the puts above */
  expungeLogDropped: Set<number>;
  /** a put replaces the body's chunks, a delete frees them */
  bodies: Rows<string, { raw: RawMessage; summary: unknown }>;
  /** queue items taken off (by the seq they were stored with) */
  dequeued: Map<string, { readonly owner: string; readonly seq: number }>;
  /** queue items added: numbered by the database (tegami_reclaim_seq), in this order */
  queued: { readonly owner: string; readonly item: ReclaimItem }[];
}

// Account and mailbox names never hold NUL (PostgreSQL text cannot), so it separates key parts.
const k2 = (a: string | number, b: string | number) => `${a}\0${b}`;

export function netChanges(changes: readonly Change[]): NetChanges {
  const net: NetChanges = {
    users: new Map(), mailboxes: new Map(), messages: new Map(), expungeLog: new Map(), expungeLogDropped: new Set(),
    bodies: new Map(), dequeued: new Map(), queued: [],
  };
  for (const c of changes) {
    switch (c.t) {
      case 'counters': net.counters = c.counters; break;
      case 'putUser': net.users.set(c.user, { key: c.user, row: { created: c.created } }); break;
      case 'delUser': net.users.set(c.user, { key: c.user, row: null }); break;
      case 'putMailbox': net.mailboxes.set(k2(c.user, c.record.name), { key: { user: c.user, name: c.record.name }, row: c.record }); break;
      case 'delMailbox': net.mailboxes.set(k2(c.user, c.name), { key: { user: c.user, name: c.name }, row: null }); break;
      case 'putBody': net.bodies.set(c.bodyId, { key: c.bodyId, row: { raw: c.raw, summary: c.summary } }); break;
      case 'dropBody': net.bodies.set(c.bodyId, { key: c.bodyId, row: null }); break;
      case 'putMessage':
        net.messages.set(k2(c.mailboxId, c.meta.uid), { key: { mailboxId: c.mailboxId, uid: c.meta.uid }, row: c.meta });
        break;
      // messages' body_id index is the reference (schema.ts)
      case 'addRef': break;
      case 'unlink': net.messages.set(k2(c.mailboxId, c.uid), { key: { mailboxId: c.mailboxId, uid: c.uid }, row: null }); break;
      case 'logExpunge':
        net.expungeLog.set(k2(c.mailboxId, c.modseq), { key: { mailboxId: c.mailboxId, modseq: c.modseq }, row: c.uids });
        break;
      case 'dropExpungeLog':
        if (c.modseq !== undefined) {
          net.expungeLog.set(k2(c.mailboxId, c.modseq), { key: { mailboxId: c.mailboxId, modseq: c.modseq }, row: null });
        } else {
          for (const [k, v] of net.expungeLog) if (v.key.mailboxId === c.mailboxId) net.expungeLog.delete(k);
          net.expungeLogDropped.add(c.mailboxId);
        }
        break;
      case 'queueReclaim': net.queued.push({ owner: c.owner, item: c.item }); break;
      case 'dequeueReclaim': net.dequeued.set(k2(c.owner, c.seq), { owner: c.owner, seq: c.seq }); break;
    }
  }
  return net;
}

/** The rows to delete and the rows to write of one table. */
export function split<K, V>(rows: Rows<K, V>): { deletes: K[]; puts: { key: K; row: V }[] } {
  const deletes: K[] = [];
  const puts: { key: K; row: V }[] = [];
  for (const r of rows.values()) {
    if (r.row === null) deletes.push(r.key);
    else puts.push({ key: r.key, row: r.row });
  }
  return { deletes, puts };
}
