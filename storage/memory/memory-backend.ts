// A backend in plain JavaScript maps, for embedding and tests: nothing survives close(), so there is
// nothing to make durable, and a commit is applied in one synchronous pass (atomic by construction).
// It keeps the same facts as any other backend — the engine owns every rule — and so passes the same
// conformance suite, minus the restart tests.
import { MessageGoneError } from '../errors.ts';
import type { Backend, BackendState, Change, MailboxRecord, QueuedReclaim, ReclaimItem, StoredMailbox } from '../engine/index.ts';
import type { BodyRange, MessageMeta, RawMessage } from '../types.ts';

interface Body {
  readonly raw: RawMessage;
  readonly summary: unknown;
  /** Live messages that use it (addRef/unlink). */
  refs: number;
}

export class MemoryBackend implements Backend {
  private readonly users = new Set<string>();
  /** user → mailbox name → record */
  private readonly mailboxes = new Map<string, Map<string, MailboxRecord>>();
  /** mailbox id → uid → message; Maps keep insertion order, which is UID order (UIDs only grow). */
  private readonly messages = new Map<number, Map<number, MessageMeta>>();
  /** mailbox id → modseq → UIDs expunged then */
  private readonly expungeLogs = new Map<number, Map<number, readonly number[]>>();
  private readonly bodies = new Map<string, Body>();
  /** owner → seq → item, in seq order (seqs only grow) */
  private readonly queues = new Map<string, Map<number, ReclaimItem>>();

  async open(): Promise<BackendState> {
    return { counters: undefined, reclaimQueues: [] };
  }

  async load(user: string): Promise<StoredMailbox[] | undefined> {
    if (!this.users.has(user)) return undefined;
    return [...(this.mailboxes.get(user)?.values() ?? [])].map((record) => ({
      record,
      messages: [...(this.messages.get(record.id)?.values() ?? [])],
      expungeLog: [...(this.expungeLogs.get(record.id)?.keys() ?? [])],
    }));
  }

  async listUsers(): Promise<string[]> {
    return [...this.users].sort();
  }

  async commit(changes: readonly Change[]): Promise<void> {
    for (const c of changes) this.apply(c);
  }

  private apply(c: Change): void {
    switch (c.t) {
      // The engine keeps the counters; nothing here outlives it, so nothing reads them back.
      case 'counters': break;
      case 'putUser': this.users.add(c.user); break;
      case 'delUser': this.users.delete(c.user); break;
      case 'putMailbox': inner(this.mailboxes, c.user).set(c.record.name, c.record); break;
      case 'delMailbox': this.mailboxes.get(c.user)?.delete(c.name); break;
      case 'putBody': this.bodies.set(c.bodyId, { raw: c.raw, summary: c.summary, refs: this.bodies.get(c.bodyId)?.refs ?? 0 }); break;
      case 'putMessage': inner(this.messages, c.mailboxId).set(c.meta.uid, c.meta); break;
      case 'addRef': {
        const b = this.bodies.get(c.bodyId);
        if (b) b.refs++;
        break;
      }
      case 'unlink': {
        const box = this.messages.get(c.mailboxId);
        if (!box?.delete(c.uid)) break;
        if (box.size === 0) this.messages.delete(c.mailboxId);
        const b = this.bodies.get(c.bodyId);
        if (b) b.refs--;
        break;
      }
      case 'logExpunge': inner(this.expungeLogs, c.mailboxId).set(c.modseq, c.uids); break;
      case 'dropExpungeLog':
        if (c.modseq === undefined) this.expungeLogs.delete(c.mailboxId);
        else this.expungeLogs.get(c.mailboxId)?.delete(c.modseq);
        break;
      case 'queueReclaim': inner(this.queues, c.owner).set(c.seq, c.item); break;
      case 'dequeueReclaim': {
        const q = this.queues.get(c.owner);
        q?.delete(c.seq);
        if (q?.size === 0) this.queues.delete(c.owner);
        break;
      }
      case 'dropBody': this.bodies.delete(c.bodyId); break;
    }
  }

  async readBodyRanges(ranges: readonly BodyRange[]): Promise<Buffer[][]> {
    return ranges.map((r) => {
      const body = this.bodies.get(r.bodyId);
      if (!body) {
        if (r.start === 0) throw new MessageGoneError(`message body ${r.bodyId} is gone`);
        return [];
      }
      const start = Math.min(r.start, body.raw.length);
      const end = Math.min(Math.max(start, r.end), body.raw.length);
      return end > start ? [body.raw.subarray(start, end)] : [];
    });
  }

  async readSummary(bodyId: string): Promise<unknown> {
    return this.bodies.get(bodyId)?.summary;
  }

  async expungedSince(mailboxId: number, modseq: number): Promise<number[]> {
    const out: number[] = [];
    for (const [m, uids] of this.expungeLogs.get(mailboxId) ?? []) if (m > modseq) out.push(...uids);
    return out;
  }

  async queued(owner: string, limit: number): Promise<QueuedReclaim[]> {
    const out: QueuedReclaim[] = [];
    for (const [seq, item] of this.queues.get(owner) ?? []) {
      if (out.length >= limit) break;
      out.push({ owner, seq, item });
    }
    return out;
  }

  async leftInMailbox(mailboxId: number, limit: number): Promise<MessageMeta[]> {
    const out: MessageMeta[] = [];
    for (const m of this.messages.get(mailboxId)?.values() ?? []) {
      if (out.length >= limit) break;
      out.push(m);
    }
    return out;
  }

  async referenced(bodyIds: readonly string[]): Promise<Set<string>> {
    return new Set(bodyIds.filter((b) => (this.bodies.get(b)?.refs ?? 0) > 0));
  }

  async close(): Promise<void> {}
}

function inner<K, K2, V>(outer: Map<K, Map<K2, V>>, key: K): Map<K2, V> {
  let m = outer.get(key);
  if (!m) outer.set(key, (m = new Map()));
  return m;
}
