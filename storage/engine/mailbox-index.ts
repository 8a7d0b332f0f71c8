// In-memory index of one mailbox's live messages, the source of every listing. Listing, selecting
// and UIDL therefore cost O(live messages) and never touch the churned key ranges on disk
// (invariant 5). Alone on its store, the process is the only writer of its data, so the index is
// coherent; on a store several processes share, the engine reloads it when another process changed
// the account (reload(): the differences become the usual events).
//
// Snapshots are copy-on-write: handing one out marks the array shared, and the next change copies it,
// so a snapshot is O(1) and never changes under the session that holds it (invariant 2).
//
// What SELECT and STATUS report is kept as running figures, updated as messages come, change and go,
// so neither scans the mailbox: the unseen count, the first unseen message (a floor below which all
// are seen: it only moves back when a message loses \Seen), the keywords in use, and the recent
// messages (those at or above firstRecentUid, RFC 3501 2.3.2).
import { SEEN } from '../flags.ts';
import type { MailboxEvent, MailboxInfo, MailboxListener, MessageMeta } from '../types.ts';
import { indexOfUid, lowerBoundByUid } from '../uid-order.ts';
import type { StoredMailbox } from './backend.ts';
import type { MailboxRecord } from './records.ts';

export class MailboxIndex {
  /** Committed, visible record. */
  record: MailboxRecord;
  /** Allocation counters run ahead of the record while a commit is in flight; never handed out twice. */
  nextUid: number;
  nextModseq: number;
  /** Modseqs of the expunge-log records on disk, oldest first; like the counters, runs ahead of commits. */
  expungeLog: number[];
  expungeHorizon: number;
  private messages: MessageMeta[];
  private shared = false;
  private unseen: number;
  /** Every message below this UID has \Seen. */
  private seenFloor = 0;
  readonly keywords = new Set<string>();
  /**
   * Messages at or above this UID are \Recent, not yet claimed by a read-write session. Kept in memory
   * only: after a restart nothing is recent (RFC 3501 lets a server lose \Recent; it is a hint).
   */
  firstRecentUid: number;
  /** Deleted (here or by another node): a mutation still holding it must not write it again. */
  gone = false;
  readonly listeners = new Set<MailboxListener>();
  /** Listeners that claim new arrivals as \Recent (read-write sessions), in the order they came. */
  readonly recentClaimers = new Set<MailboxListener>();

  constructor(record: MailboxRecord, messages: MessageMeta[], expungeLog: number[] = []) {
    this.record = record;
    this.expungeLog = expungeLog;
    this.expungeHorizon = record.expungeHorizon ?? 0;
    this.messages = messages;
    this.nextUid = record.uidNext;
    this.nextModseq = record.highestModseq + 1;
    this.unseen = this.countUnseen();
    this.firstRecentUid = record.uidNext;
    for (const m of messages) this.noteKeywords(m);
  }

  private countUnseen(): number {
    return this.messages.reduce((n, m) => (m.flags.includes(SEEN) ? n : n + 1), 0);
  }

  /**
   * Takes the mailbox as stored now (another process changed it) and returns what changed, as the
   * events a session expects: expunges, then arrivals, then flag changes. The allocation counters
   * never go back: UIDs and modseqs this process handed out for a commit that failed stay unused.
   */
  reload(stored: StoredMailbox): MailboxEvent[] {
    const before = this.messages;
    const after = stored.messages;
    const gone: number[] = [];
    const added: MessageMeta[] = [];
    const changed: MessageMeta[] = [];
    let i = 0;
    let j = 0;
    while (i < before.length || j < after.length) {
      const b = before[i];
      const a = after[j];
      if (a === undefined || (b !== undefined && b.uid < a.uid)) {
        gone.push(b!.uid);
        i++;
      } else if (b === undefined || a.uid < b.uid) {
        added.push(a);
        j++;
      } else {
        if (a.modseq !== b.modseq) changed.push(a);
        i++;
        j++;
      }
    }
    const r = stored.record;
    this.record = r;
    this.messages = after;
    this.shared = false;
    this.nextUid = Math.max(this.nextUid, r.uidNext);
    this.nextModseq = Math.max(this.nextModseq, r.highestModseq + 1);
    this.expungeLog = stored.expungeLog;
    this.expungeHorizon = r.expungeHorizon ?? 0;
    this.unseen = this.countUnseen();
    this.seenFloor = 0;
    for (const m of after) this.noteKeywords(m);
    const id = r.id;
    const events: MailboxEvent[] = [];
    if (gone.length) events.push({ type: 'expunge', mailboxId: id, uids: gone, modseq: r.highestModseq });
    if (added.length) events.push({ type: 'exists', mailboxId: id, messages: added });
    if (changed.length) events.push({ type: 'flags', mailboxId: id, messages: changed });
    return events;
  }

  private noteKeywords(m: MessageMeta): void {
    for (const f of m.flags) if (!f.startsWith('\\')) this.keywords.add(f);
  }

  /** Messages at or above `firstRecentUid`. O(log n). */
  get recent(): number {
    return this.messages.length - lowerBoundByUid(this.messages, this.firstRecentUid);
  }

  /** UID of the first message without \Seen, or 0. Amortised O(1): the floor only moves forward here. */
  firstUnseenUid(): number {
    if (this.unseen === 0) return 0;
    const a = this.messages;
    for (let i = lowerBoundByUid(a, this.seenFloor); i < a.length; i++) {
      if (!a[i]!.flags.includes(SEEN)) {
        this.seenFloor = a[i]!.uid;
        return this.seenFloor;
      }
    }
    return 0;
  }

  /** Hands the recent messages to one session: from now on they are not recent for anyone else. */
  claimRecent(): number {
    const from = this.firstRecentUid;
    this.firstRecentUid = Math.max(from, this.record.uidNext);
    return from;
  }

  get size(): number {
    return this.messages.length;
  }

  info(): MailboxInfo {
    const r = this.record;
    return {
      name: r.name,
      id: r.id,
      uidValidity: r.uidValidity,
      uidNext: r.uidNext,
      highestModseq: r.highestModseq,
      messages: this.messages.length,
      unseen: this.unseen,
      recent: this.recent,
      firstUnseenUid: this.firstUnseenUid(),
      keywords: [...this.keywords],
      specialUse: r.specialUse,
      subscribed: r.subscribed,
    };
  }

  snapshot(): readonly MessageMeta[] {
    this.shared = true;
    return this.messages;
  }

  allocUid(): number {
    return this.nextUid++;
  }

  allocModseq(): number {
    return this.nextModseq++;
  }

  /** Index of the message with this UID, or -1. O(log n). */
  indexOf(uid: number): number {
    return indexOfUid(this.messages, uid);
  }

  get(uid: number): MessageMeta | undefined {
    const i = this.indexOf(uid);
    return i < 0 ? undefined : this.messages[i];
  }

  /** Live messages with the given UIDs, in UID order, skipping UIDs that are not live. */
  pick(uids: readonly number[]): MessageMeta[] {
    const out: MessageMeta[] = [];
    for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
      const m = this.get(uid);
      if (m) out.push(m);
    }
    return out;
  }

  all(): readonly MessageMeta[] {
    return this.messages;
  }

  private writable(): MessageMeta[] {
    if (this.shared) {
      this.messages = this.messages.slice();
      this.shared = false;
    }
    return this.messages;
  }

  /** New messages always carry UIDs above every live one, so this is an append. */
  add(metas: readonly MessageMeta[]): void {
    const a = this.writable();
    for (const m of metas) {
      if (a.length > 0 && a[a.length - 1]!.uid >= m.uid) throw new Error(`UID ${m.uid} out of order`);
      a.push(m);
      if (!m.flags.includes(SEEN)) this.unseen++;
      this.noteKeywords(m);
    }
  }

  replace(metas: readonly MessageMeta[]): void {
    const a = this.writable();
    for (const m of metas) {
      const i = this.indexOf(m.uid);
      if (i < 0) continue;
      const wasSeen = a[i]!.flags.includes(SEEN);
      const isSeen = m.flags.includes(SEEN);
      if (wasSeen !== isSeen) this.unseen += isSeen ? -1 : 1;
      if (!isSeen && m.uid < this.seenFloor) this.seenFloor = m.uid;
      this.noteKeywords(m);
      a[i] = m;
    }
  }

  /**
   * Compacts in place unless a snapshot shares the array: a mass deletion in slices must not leave
   * a 100k-element garbage array per slice (major GC pauses hit every session).
   */
  remove(uids: readonly number[]): void {
    if (uids.length === 0) return;
    // Walk the sorted UIDs beside the sorted index, starting at the first one to go: a slice (SLICE,
    // slices.ts) out of 100k costs a pass of plain moves, not 100k hash lookups (the slices of a mass
    // deletion ran back to back on the event loop).
    const gone = isAscending(uids) ? uids : [...uids].sort((a, b) => a - b);
    const src = this.messages;
    const start = lowerBoundByUid(src, gone[0]!);
    const dst = this.shared ? src.slice(0, start) : src;
    let w = start;
    let g = 0;
    for (let r = start; r < src.length; r++) {
      const m = src[r]!;
      while (g < gone.length && gone[g]! < m.uid) g++;
      if (g < gone.length && gone[g] === m.uid) {
        if (!m.flags.includes(SEEN)) this.unseen--;
        g++;
        continue;
      }
      dst[w++] = m;
    }
    dst.length = w;
    this.messages = dst;
    this.shared = false;
  }

  commitRecord(record: MailboxRecord): void {
    this.record = record;
  }
}

function isAscending(a: readonly number[]): boolean {
  for (let i = 1; i < a.length; i++) if (a[i]! <= a[i - 1]!) return false;
  return true;
}
