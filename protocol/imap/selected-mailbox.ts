// The session's view of its selected mailbox: sequence number n is messages[n-1]. Changes made by
// other sessions (and deliveries) arrive as store events and wait here until the session may tell
// the client — RFC 3501 7.4.1: never an EXPUNGE while answering FETCH, STORE or SEARCH — so the
// numbers the client holds stay valid for as long as it may use them.
//
// The view also keeps what this session alone knows: which messages are \Recent for it (RFC 3501
// 2.3.2: the store hands each new message to one read-write session), and which keywords the client
// has been told of in FLAGS — a new one is announced (FLAGS, PERMANENTFLAGS) before any FETCH uses it
// (RFC 3501 7.2.6).
import { RECENT, SYSTEM_FLAGS } from '../../storage/flags.ts';
import type { MailboxEvent, MailStore, MessageMeta } from '../../storage/types.ts';
import { indexOfUid, lowerBoundByUid } from '../../storage/uid-order.ts';
import { flagList } from './responses.ts';
import { formatSet } from './sequence-set.ts';

export class SelectedMailbox {
  private pending: MailboxEvent[] = [];
  private unwatch: (() => void) | undefined;
  /** Messages expunged elsewhere that the client has not been told about yet. */
  readonly ghosts = new Set<number>();
  deleted = false;
  /** The mailbox's RFC 6154 attribute, for the LIST line of an IMAP4rev2 SELECT. */
  specialUse: string | undefined;
  highestModseq: number;
  uidNext: number;
  private list: readonly MessageMeta[];
  /** Whether `list` is this session's own copy (else the store's shared snapshot). */
  private own = false;
  /** UID ranges [from, to) of the messages that are \Recent in this session; usually one. */
  private recentRanges: [number, number][] = [];
  /** IMAP4rev1 shows \Recent; an IMAP4rev2 session never does (RFC 9051 drops it). */
  showRecent = true;
  /** Keywords the client was told of in FLAGS. */
  private readonly announced = new Set<string>();
  /** Sequence number of the first unseen message when the mailbox was opened (0: none). */
  firstUnseen = 0;

  private constructor(
    readonly name: string,
    readonly readOnly: boolean,
    readonly uidValidity: number,
    messages: readonly MessageMeta[],
    highestModseq: number,
    uidNext: number,
  ) {
    this.list = messages;
    this.highestModseq = highestModseq;
    this.uidNext = uidNext;
  }

  /** Sequence number n is messages[n - 1]. */
  get messages(): readonly MessageMeta[] {
    return this.list;
  }

  /**
   * True while the view is still the store's snapshot itself, shared by every session that opened
   * this version of the mailbox: answers derived from it alone can be cached on it.
   */
  get isSharedSnapshot(): boolean {
    return !this.own;
  }

  /** The view's array to change: the shared snapshot is copied on the first change (copy-on-write). */
  private writable(): MessageMeta[] {
    if (!this.own) {
      this.list = this.list.slice();
      this.own = true;
    }
    return this.list as MessageMeta[];
  }

  /**
   * Opens a view: the watch starts before the snapshot is taken, and events the snapshot already
   * reflects are recognised and skipped, so nothing falls between the two.
   */
  static async open(store: MailStore, user: string, name: string, readOnly: boolean, onEvent: () => void): Promise<SelectedMailbox> {
    const early: MailboxEvent[] = [];
    let view: SelectedMailbox | undefined;
    // A read-only session sees \Recent but takes it from no one (RFC 3501 6.3.2).
    const claimRecent = !readOnly;
    const unwatch = await store.watch(user, name, (ev) => {
      if (view) {
        view.pending.push(ev);
        onEvent();
      } else early.push(ev);
    }, { claimRecent });
    try {
      const snap = await store.snapshot(user, name, { claimRecent });
      const m = snap.mailbox;
      view = new SelectedMailbox(m.name, readOnly, m.uidValidity, snap.messages, m.highestModseq, m.uidNext);
      view.unwatch = unwatch;
      view.specialUse = m.specialUse;
      if (snap.firstRecentUid !== undefined && snap.firstRecentUid < m.uidNext) view.recentRanges.push([snap.firstRecentUid, m.uidNext]);
      for (const k of m.keywords ?? []) view.announced.add(k);
      if (m.firstUnseenUid) view.firstUnseen = view.indexOfUid(m.firstUnseenUid) + 1;
      view.pending.push(...early);
      return view;
    } catch (err) {
      unwatch();
      throw err;
    }
  }

  close(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    this.pending = [];
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  indexOfUid(uid: number): number {
    return indexOfUid(this.list, uid);
  }

  get hasRecent(): boolean {
    return this.showRecent && this.recentRanges.length > 0;
  }

  isRecent(uid: number): boolean {
    for (const [from, to] of this.recentRanges) if (uid >= from && uid < to) return true;
    return false;
  }

  /** How many messages of the view are \Recent here. O(ranges × log n). */
  get recentCount(): number {
    let n = 0;
    for (const [from, to] of this.recentRanges) n += lowerBoundByUid(this.list, to) - lowerBoundByUid(this.list, from);
    return n;
  }

  /** A message's flags as this session shows them: with \Recent where it is recent here (rev1). */
  flagsOf(m: MessageMeta): readonly string[] {
    return this.hasRecent && this.isRecent(m.uid) ? [RECENT, ...m.flags] : m.flags;
  }

  /** FLAGS for the client: the system flags and every keyword it was told of. */
  get flags(): string[] {
    return [...SYSTEM_FLAGS, ...this.announced];
  }

  /** The FLAGS and PERMANENTFLAGS lines SELECT sends, and sends again when a keyword is new. */
  flagLines(): string[] {
    const flags = this.flags;
    return [`* FLAGS ${flagList(flags)}`, `* OK [PERMANENTFLAGS ${this.readOnly ? '()' : flagList([...flags, '\\*'])}] flags permitted`];
  }

  /** Lines announcing any keyword of these messages the client was not told of yet (else none). */
  announceKeywords(metas: readonly MessageMeta[]): string[] {
    let fresh = false;
    for (const m of metas) {
      for (const f of m.flags) {
        if (f.startsWith('\\') || this.announced.has(f)) continue;
        this.announced.add(f);
        fresh = true;
      }
    }
    return fresh ? this.flagLines() : [];
  }

  /**
   * Applies changes this session made itself (STORE, \Seen by FETCH) so their events are not echoed;
   * returns the lines that announce new keywords, to send before the FETCH lines that show them.
   */
  applyOwn(metas: readonly MessageMeta[]): string[] {
    for (const m of metas) {
      const i = this.indexOfUid(m.uid);
      if (i >= 0) this.writable()[i] = m;
      if (m.modseq > this.highestModseq) this.highestModseq = m.modseq;
    }
    return this.announceKeywords(metas);
  }

  /** One pass over the view however many go: each EXPUNGE names the number as it is at that moment. */
  private removeUids(uids: readonly number[], out: string[], qresync: boolean): void {
    const idx = [...new Set(uids.map((u) => this.indexOfUid(u)).filter((i) => i >= 0))].sort((a, b) => a - b);
    if (idx.length === 0) return;
    // RFC 7162 3.2.10: with QRESYNC on, one VANISHED replaces the EXPUNGEs
    if (qresync) out.push(`* VANISHED ${formatSet(idx.map((i) => this.list[i]!.uid))}`);
    else idx.forEach((i, k) => out.push(`* ${i - k + 1} EXPUNGE`));
    // Compact in place, in this session's own copy, from the first to go, walking the sorted
    // indexes beside it: a 100k-message view loses 5,000 in one pass of moves.
    const a = this.writable();
    let w = idx[0]!;
    let k = 0;
    for (let r = w; r < a.length; r++) {
      if (k < idx.length && idx[k] === r) {
        this.ghosts.delete(a[r]!.uid);
        k++;
      } else a[w++] = a[r]!;
    }
    a.length = w;
  }

  /**
   * Brings the view up to date and returns the untagged responses that tell the client.
   * With `allowExpunge` false, expunges wait (the messages stay visible as ghosts).
   */
  sync(allowExpunge: boolean, withModseq: boolean, qresync = false): string[] {
    const out: string[] = [];
    const keep: MailboxEvent[] = [];
    let gone: number[] = [];
    for (let e = 0; e < this.pending.length; e++) {
      const ev = this.pending[e]!;
      switch (ev.type) {
        case 'exists': {
          // An arrival this session claimed may already be in the snapshot it opened with.
          if (ev.recent && ev.messages.length) this.recentRanges.push([ev.messages[0]!.uid, ev.messages[ev.messages.length - 1]!.uid + 1]);
          const last = this.messages.length ? this.messages[this.messages.length - 1]!.uid : 0;
          const fresh = ev.messages.filter((m) => m.uid > last);
          if (fresh.length === 0) break;
          const own = this.writable();
          for (const m of fresh) own.push(m);
          this.uidNext = Math.max(this.uidNext, fresh[fresh.length - 1]!.uid + 1);
          for (const m of fresh) this.highestModseq = Math.max(this.highestModseq, m.modseq);
          out.push(`* ${this.messages.length} EXISTS`);
          if (this.showRecent) out.push(`* ${this.recentCount} RECENT`);
          out.push(...this.announceKeywords(fresh));
          break;
        }
        case 'flags':
          out.push(...this.announceKeywords(ev.messages));
          for (const m of ev.messages) {
            const i = this.indexOfUid(m.uid);
            this.highestModseq = Math.max(this.highestModseq, m.modseq);
            if (i < 0 || this.messages[i]!.modseq >= m.modseq) continue;
            this.writable()[i] = m;
            out.push(`* ${i + 1} FETCH (${withModseq ? `MODSEQ (${m.modseq}) ` : ''}UID ${m.uid} FLAGS ${flagList(this.flagsOf(m))})`);
          }
          break;
        case 'expunge':
          this.highestModseq = Math.max(this.highestModseq, ev.modseq);
          if (!allowExpunge) {
            for (const u of ev.uids) if (this.indexOfUid(u) >= 0) this.ghosts.add(u);
            keep.push(ev);
            break;
          }
          // A mass deletion arrives as one event per slice: the run of them is removed in one pass.
          for (const u of ev.uids) gone.push(u);
          if (this.pending[e + 1]?.type !== 'expunge') {
            this.removeUids(gone, out, qresync);
            gone = [];
          }
          break;
        case 'deleted':
          this.deleted = true;
          break;
      }
    }
    this.pending = keep;
    return out;
  }
}
