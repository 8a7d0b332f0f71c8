// The LevelDB backend: the key layout (keys.ts), the record codecs (records.ts) and the translation
// of the engine's typed changes into one atomic batch, over classic-level (LevelDB, classic-db.ts).
// LevelDB keeps deletion tombstones until compaction, so this backend counts the deletions it
// commits per key range and compacts a range once it collected many (invariant 5).
import { MessageGoneError } from '../errors.ts';
import type { Backend, BackendState, Change, QueuedReclaim, StoredMailbox } from '../engine/index.ts';
import type { BodyRange, MessageMeta } from '../types.ts';
import {
  BODY_CHUNK, COUNTERS_KEY, FORMAT_KEY, RECLAIM_RANGE, USER_RANGE, bodyChunkKey, expungeLogKey, expungeLogRange, mailboxKey,
  mailboxRange, messageKey, messageRange, modseqOfExpungeLogKey, reclaimKey, reclaimOwnerOf, reclaimRange, reclaimSeqOf, refKey,
  refRange, summaryKey, userKey,
} from './keys.ts';
import {
  checkFormat, decodeCounters, decodeMailbox, decodeMeta, decodeReclaimItem, decodeSummary, decodeUids, encodeCounters,
  encodeFormat, encodeMailbox, encodeMeta, encodeReclaimItem, encodeSummary, encodeUids, encodeUser,
} from './records.ts';

export interface BatchOp {
  type: 'put' | 'del';
  key: string;
  value?: Buffer;
}

export interface RangeOptions {
  gt?: string;
  gte?: string;
  lt?: string;
  limit?: number;
  reverse?: boolean;
}

/** abstract-level's key iterator. */
export interface KeyIterator extends AsyncIterable<string> {
  next(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** The parts of abstract-level this backend uses (classic-level provides them; so does memory-level). */
export interface KvDb {
  open(): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  getMany(keys: string[]): Promise<(Uint8Array | undefined)[]>;
  iterator(opts: RangeOptions): AsyncIterable<[string, Uint8Array]>;
  keys(opts: RangeOptions): KeyIterator;
  batch(ops: BatchOp[], opts: { sync: boolean }): Promise<void>;
  compactRange?(start: string, end: string): Promise<void>;
  close(): Promise<void>;
}

/** Deletion tombstones in a key range after which it is compacted (invariant 5). */
const COMPACT_AFTER = 5000;
const EMPTY = Buffer.alloc(0);

export class LevelBackend implements Backend {
  /** Deletion tombstones per key range since its last compaction. */
  private readonly churn = new Map<string, { gt: string; lt: string; count: number }>();

  /** `sync`: fsync durable commits (invariant 3); only a database in memory may go without. */
  constructor(private readonly db: KvDb, private readonly sync: boolean) {}

  async open(): Promise<BackendState> {
    await this.db.open();
    const format = await this.db.get(FORMAT_KEY);
    checkFormat(FORMAT_KEY, format);
    if (!format) await this.db.batch([{ type: 'put', key: FORMAT_KEY, value: encodeFormat() }], { sync: this.sync });
    const c = await this.db.get(COUNTERS_KEY);
    const queues = new Map<string, { owner: string; items: number; bytes: number; oldestAt: number; maxSeq: number }>();
    for await (const [k, v] of this.db.iterator(RECLAIM_RANGE)) {
      const owner = reclaimOwnerOf(k);
      const item = decodeReclaimItem(k, v);
      let q = queues.get(owner);
      if (!q) queues.set(owner, (q = { owner, items: 0, bytes: 0, oldestAt: item.at, maxSeq: 0 }));
      q.items++;
      if (item.t === 'body') q.bytes += item.bytes;
      q.oldestAt = Math.min(q.oldestAt, item.at);
      q.maxSeq = Math.max(q.maxSeq, reclaimSeqOf(k));
    }
    return { counters: c ? decodeCounters(COUNTERS_KEY, c) : undefined, reclaimQueues: [...queues.values()] };
  }

  async load(user: string): Promise<StoredMailbox[] | undefined> {
    if (!(await this.db.get(userKey(user)))) return undefined;
    const out: StoredMailbox[] = [];
    for await (const [k, v] of this.db.iterator(mailboxRange(user))) {
      const record = decodeMailbox(k, v);
      const messages: MessageMeta[] = [];
      for await (const [mk, mv] of this.db.iterator(messageRange(record.id))) messages.push(decodeMeta(mk, mv));
      const expungeLog: number[] = [];
      for await (const ek of this.db.keys(expungeLogRange(record.id))) expungeLog.push(modseqOfExpungeLogKey(ek));
      out.push({ record, messages, expungeLog });
    }
    return out;
  }

  async listUsers(): Promise<string[]> {
    const out: string[] = [];
    for await (const k of this.db.keys(USER_RANGE)) out.push(k.slice(2));
    return out;
  }

  async commit(changes: readonly Change[], opts: { durable: boolean }): Promise<void> {
    const ops: BatchOp[] = [];
    const put = (key: string, value: Buffer) => ops.push({ type: 'put', key, value });
    const del = (key: string) => ops.push({ type: 'del', key });
    const tombstones: { range: { gt: string; lt: string }; count: number }[] = [];
    for (const c of changes) {
      switch (c.t) {
        case 'counters': put(COUNTERS_KEY, encodeCounters(c.counters)); break;
        case 'putUser': put(userKey(c.user), encodeUser(c.created)); break;
        case 'delUser': del(userKey(c.user)); break;
        case 'putMailbox': put(mailboxKey(c.user, c.record.name), encodeMailbox(c.record)); break;
        case 'delMailbox': del(mailboxKey(c.user, c.name)); break;
        case 'putBody':
          for (let i = 0, n = 0; i < c.raw.length || n === 0; i += BODY_CHUNK, n++) {
            put(bodyChunkKey(c.bodyId, n), c.raw.subarray(i, Math.min(c.raw.length, i + BODY_CHUNK)));
          }
          if (c.summary !== undefined) put(summaryKey(c.bodyId), encodeSummary(c.summary));
          break;
        case 'putMessage': put(messageKey(c.mailboxId, c.meta.uid), encodeMeta(c.meta)); break;
        case 'addRef': put(refKey(c.bodyId, c.mailboxId, c.uid), EMPTY); break;
        case 'unlink':
          del(messageKey(c.mailboxId, c.uid));
          del(refKey(c.bodyId, c.mailboxId, c.uid));
          tombstones.push({ range: messageRange(c.mailboxId), count: 1 });
          break;
        case 'logExpunge': put(expungeLogKey(c.mailboxId, c.modseq), encodeUids(c.uids)); break;
        case 'dropExpungeLog':
          if (c.modseq !== undefined) del(expungeLogKey(c.mailboxId, c.modseq));
          // every record of a deleted mailbox: nobody writes there any more, so reading first is safe
          else for await (const k of this.db.keys(expungeLogRange(c.mailboxId))) del(k);
          break;
        case 'queueReclaim': put(reclaimKey(c.owner, c.seq), encodeReclaimItem(c.item)); break;
        case 'dequeueReclaim':
          del(reclaimKey(c.owner, c.seq));
          // the queue is read from its start, so its own tombstones would slow every later step
          tombstones.push({ range: reclaimRange(c.owner), count: 1 });
          break;
        case 'dropBody':
          for (let n = 0; n < Math.max(1, Math.ceil(c.bytes / BODY_CHUNK)); n++) del(bodyChunkKey(c.bodyId, n));
          del(summaryKey(c.bodyId));
          break;
      }
    }
    await this.db.batch(ops, { sync: opts.durable && this.sync });
    for (const t of tombstones) this.noteChurn(t.range, t.count);
  }

  async readBodyRanges(ranges: readonly BodyRange[]): Promise<Buffer[][]> {
    // One getMany for every chunk of every range: a round trip through LevelDB's thread costs about
    // as much as copying 50 KB, so per-message lookups dominated FETCH of small bodies.
    const spans = ranges.map((r) => {
      const first = Math.floor(r.start / BODY_CHUNK);
      return { first, count: r.end > r.start ? Math.ceil(r.end / BODY_CHUNK) - first : 0 };
    });
    const keys = ranges.flatMap((r, i) => Array.from({ length: spans[i]!.count }, (_, c) => bodyChunkKey(r.bodyId, spans[i]!.first + c)));
    const values = keys.length ? await this.db.getMany(keys) : [];
    let k = 0;
    return ranges.map((r, i) => {
      const { first, count } = spans[i]!;
      const out: Buffer[] = [];
      let last = false;
      for (let c = first; c < first + count; c++, k++) {
        if (last) continue;
        const piece = bodyPiece(r.bodyId, c, first, r.start, r.end, values[k]);
        if (piece.bytes.length) out.push(piece.bytes);
        last = piece.last;
      }
      return out;
    });
  }

  async readSummary(bodyId: string): Promise<unknown> {
    const key = summaryKey(bodyId);
    const v = await this.db.get(key);
    return v ? decodeSummary(key, v) : undefined;
  }

  async expungedSince(mailboxId: number, modseq: number): Promise<number[]> {
    const out: number[] = [];
    for await (const [k, v] of this.db.iterator(expungeLogRange(mailboxId, modseq))) for (const uid of decodeUids(k, v)) out.push(uid);
    return out;
  }

  async queued(owner: string, limit: number): Promise<QueuedReclaim[]> {
    const out: QueuedReclaim[] = [];
    const range = Number.isFinite(limit) ? { ...reclaimRange(owner), limit } : reclaimRange(owner);
    for await (const [k, v] of this.db.iterator(range)) out.push({ owner, seq: reclaimSeqOf(k), item: decodeReclaimItem(k, v) });
    return out;
  }

  async leftInMailbox(mailboxId: number, limit: number): Promise<MessageMeta[]> {
    const out: MessageMeta[] = [];
    for await (const [k, v] of this.db.iterator({ ...messageRange(mailboxId), limit })) out.push(decodeMeta(k, v));
    return out;
  }

  /**
   * One ranged lookup per body, side by side. Not one iterator moved along with seek(): classic-level
   * seeks on the calling thread, and a seek steps over every deletion tombstone in its way; when
   * references were keyed in write order a mass expunge left thousands in a row, which held the event
   * loop for seconds and made the governor shed sessions (bench/incident-replay.ts). A ranged
   * iterator seeks on LevelDB's worker thread.
   */
  async referenced(bodyIds: readonly string[]): Promise<Set<string>> {
    const unique = [...new Set(bodyIds)];
    const used = await Promise.all(unique.map(async (b) => {
      const it = this.db.keys({ ...refRange(b), limit: 1 });
      try {
        return (await it.next()) !== undefined;
      } finally {
        await it.close();
      }
    }));
    return new Set(unique.filter((_, i) => used[i]));
  }

  async compact(): Promise<void> {
    if (!this.db.compactRange) return;
    for (const [k, c] of this.churn) {
      if (c.count < COMPACT_AFTER) continue;
      await this.db.compactRange(c.gt, c.lt);
      this.churn.delete(k);
    }
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private noteChurn(range: { gt: string; lt: string }, count: number): void {
    const c = this.churn.get(range.gt);
    if (c) c.count += count;
    else this.churn.set(range.gt, { ...range, count });
  }
}

/**
 * The part of body chunk `c` that falls in [start, end), and whether it is the body's last chunk.
 * A missing first chunk of a read from 0 means the body is gone; any other missing chunk means the
 * body ended exactly on a chunk boundary.
 */
function bodyPiece(bodyId: string, c: number, first: number, start: number, end: number, v: Uint8Array | undefined): { bytes: Buffer; last: boolean } {
  if (!v) {
    if (c === first && start === 0) throw new MessageGoneError(`message body ${bodyId} is gone`);
    return { bytes: EMPTY, last: true };
  }
  const offset = c * BODY_CHUNK;
  const chunk = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const from = Math.max(0, start - offset);
  const to = Math.max(from, Math.min(chunk.length, end - offset));
  return { bytes: chunk.subarray(from, to), last: chunk.length < BODY_CHUNK };
}
