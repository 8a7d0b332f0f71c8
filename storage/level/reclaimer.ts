// Physical deletion, continuous and in small steps (invariant 4). Expunges only remove messages from
// the live index and append to a durable per-account queue (q!<user>!…); this loop drains those queues
// a bounded number of keys at a time, one account after another (round-robin, so 300k deletions in one
// account do not hold up another's ten), asks its gate before every step so client traffic goes first,
// and compacts key ranges that collected many deletion tombstones (invariant 5). A restart resumes
// from the durable queues.
import type { BatchOp } from './commit-queue.ts';
import {
  BODY_CHUNK, RECLAIM_RANGE, bodyChunkKey, expungeLogRange, messageRange, reclaimKey, reclaimOwnerOf, reclaimRange,
  reclaimSeqOf, refKey, refRange, summaryKey,
} from './keys.ts';
import { decodeJson, decodeMeta, encodeJson, type ReclaimItem } from './records.ts';

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

export interface ReclaimDb {
  iterator(opts: RangeOptions): AsyncIterable<[string, Uint8Array]>;
  keys(opts: RangeOptions): KeyIterator;
  batch(ops: BatchOp[], opts: { sync: boolean }): Promise<void>;
  compactRange?(start: string, end: string): Promise<void>;
}

/**
 * Background work is last in line (invariant 6). At 0.25 the reclaim of a 100k-message deletion
 * still showed in other accounts' p99 on a 2-core machine; at 0.1 it drains in about two minutes.
 */
const DEFAULT_DUTY = 0.1;
/** Keys deleted per step: a step runs on the event loop in one piece, so it is kept short (~1 ms). */
const DEFAULT_STEP_KEYS = 128;
/** Pause when the gate says the server is busy, ms. */
const DEFAULT_BACKOFF_MS = 100;
/**
 * After a failed step (an I/O error), the pause starts at DEFAULT_BACKOFF_MS and doubles up to this:
 * a disk that stays broken is retried twice a minute, not in a tight loop that floods the log.
 */
const MAX_FAILURE_BACKOFF_MS = 30_000;
/** Deletion tombstones in a key range after which it is compacted (invariant 5). */
const DEFAULT_COMPACT_AFTER = 5000;
/** setTimeout's longest delay (2^31 − 1 ms); a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;
/** Shortest wait for a retained item to fall due, ms: items due together are taken in one round. */
const MIN_RETRY_MS = 10;

export interface ReclaimerOptions {
  /** Expunged bodies wait this long (for undelete) before they are reclaimed, ms. */
  retentionMs?: number;
  /** Asked before every step; false means "not now" (the governor says the server is busy). */
  gate?: () => boolean;
  /** Keys deleted per step at most. */
  stepKeys?: number;
  /** Pause when the gate says no, ms. */
  backoffMs?: number;
  /**
   * Share of wall time the reclaimer may spend working (default 0.1): after a step that took T ms
   * it rests T × (1/duty − 1). The backlog drains later; nobody's session notices it.
   */
  duty?: number;
  /** Tombstones in a message range after which it is compacted. */
  compactAfter?: number;
  /** Where to allocate sequence numbers for follow-up queue items. */
  nextSeq: () => number;
  /** Told when a step fails; the loop pauses (doubling up to MAX_FAILURE_BACKOFF_MS) and carries on. */
  onError?: (err: unknown) => void;
}

export interface ReclaimStats {
  backlogItems: number;
  backlogBytes: number;
  oldestAt: number;
  reclaimedBodies: number;
  reclaimedBytes: number;
  steps: number;
  compactions: number;
}

export class Reclaimer {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Steps failed in a row; sets the pause before the next try. */
  private failures = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  /** Deletion tombstones per key range since its last compaction. */
  private readonly churn = new Map<string, { gt: string; lt: string; count: number }>();
  /** Queued items per account; iteration order is the round-robin order. */
  private readonly backlog = new Map<string, number>();
  readonly stats: ReclaimStats = {
    backlogItems: 0, backlogBytes: 0, oldestAt: 0, reclaimedBodies: 0, reclaimedBytes: 0, steps: 0, compactions: 0,
  };

  constructor(private readonly db: ReclaimDb, private readonly opts: ReclaimerOptions) {}

  /** Accounts with something queued. */
  get accountsWaiting(): number {
    return this.backlog.size;
  }

  /**
   * Counts the durable queues left by an earlier run, then starts draining them. Returns the highest
   * queue sequence number in use, so that new items sort after old ones.
   */
  async start(): Promise<number> {
    let maxSeq = 0;
    for await (const [k, v] of this.db.iterator(RECLAIM_RANGE)) {
      this.count(reclaimOwnerOf(k), decodeJson<ReclaimItem>(v), +1);
      maxSeq = Math.max(maxSeq, reclaimSeqOf(k));
    }
    this.wake();
    return maxSeq;
  }

  /** Called by the store after it queued an account's items in a committed batch. */
  queued(owner: string, items: readonly ReclaimItem[], tombstones?: { mailboxId: number; count: number }): void {
    for (const it of items) this.count(owner, it, +1);
    if (tombstones) this.noteChurn(messageRange(tombstones.mailboxId), tombstones.count);
    this.wake();
  }

  /** Items taken off an account's queue by someone else (undelete) in a committed batch. */
  dequeued(owner: string, items: readonly ReclaimItem[]): void {
    for (const it of items) this.count(owner, it, -1);
  }

  /** Resolves when the queue is empty (tests, `tegami stats --wait`, shutdown of benches). */
  drained(): Promise<void> {
    if (this.stats.backlogItems === 0 && !this.running) return Promise.resolve();
    // The loop's timers do not hold the process open (a server must be able to exit); someone
    // waiting for the drain, like `tegami user del --purge`, does.
    return new Promise((r) => {
      const keepAlive = setInterval(() => {}, 1000);
      this.idleWaiters.push(() => {
        clearInterval(keepAlive);
        r();
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.running) await new Promise((r) => setImmediate(r));
  }

  private count(owner: string, it: ReclaimItem, sign: 1 | -1): void {
    const n = (this.backlog.get(owner) ?? 0) + sign;
    if (n > 0) this.backlog.set(owner, n);
    else this.backlog.delete(owner);
    this.stats.backlogItems += sign;
    if (it.t === 'body') this.stats.backlogBytes += sign * it.bytes;
    if (sign > 0 && (this.stats.oldestAt === 0 || it.at < this.stats.oldestAt)) this.stats.oldestAt = it.at;
    if (this.stats.backlogItems === 0) this.stats.oldestAt = 0;
  }

  /** Comes back when the oldest retained item falls due. */
  private retryAt(ms: number): void {
    if (this.stopped || this.timer || !Number.isFinite(ms)) return;
    this.schedule(Math.min(MAX_TIMER_MS, Math.max(MIN_RETRY_MS, ms)));
  }

  private wake(): void {
    if (this.running || this.stopped || this.timer) return;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.run(), ms);
    this.timer.unref?.();
  }

  /**
   * The only caller of loop(). A step that fails (a read or a batch of the database) must not become
   * an unhandled rejection, which ends the process: it is reported, and the loop tries again later.
   */
  private run(): void {
    this.loop().then(
      () => {
        this.failures = 0;
      },
      (err: unknown) => {
        this.failures++;
        this.opts.onError?.(err);
        if (this.stopped || this.timer) return;
        this.schedule(Math.min(MAX_FAILURE_BACKOFF_MS, (this.opts.backoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** (this.failures - 1)));
      },
    );
  }

  private async loop(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    try {
      // One round = one bounded step for every account with a backlog, in turn.
      while (!this.stopped) {
        let worked = false;
        let dueInMs = Infinity;
        for (const owner of [...this.backlog.keys()]) {
          if (this.stopped) break;
          if (this.opts.gate && !this.opts.gate()) {
            this.running = false;
            this.schedule(this.opts.backoffMs ?? DEFAULT_BACKOFF_MS);
            return;
          }
          const t0 = performance.now();
          const r = await this.step(owner);
          if (r === 'worked') worked = true;
          else dueInMs = Math.min(dueInMs, r.dueInMs);
          await this.rest(performance.now() - t0);
        }
        if (!worked) {
          this.retryAt(dueInMs);
          break;
        }
      }
      if (!this.stopped) await this.compactChurned();
    } finally {
      this.running = false;
    }
    if (this.stats.backlogItems <= 0 || this.stopped) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }

  private rest(workedMs: number): Promise<void> {
    const duty = Math.min(1, Math.max(0.01, this.opts.duty ?? DEFAULT_DUTY));
    const ms = workedMs * (1 / duty - 1);
    return new Promise((r) => (ms >= 1 ? setTimeout(r, ms) : setImmediate(r)));
  }

  /** One bounded step on one account's queue; otherwise when its next item falls due. */
  private async step(owner: string): Promise<'worked' | { dueInMs: number }> {
    const budget = this.opts.stepKeys ?? DEFAULT_STEP_KEYS;
    const ops: BatchOp[] = [];
    const done: ReclaimItem[] = [];
    const followUps: ReclaimItem[] = [];
    let reclaimedBytes = 0;
    let reclaimedBodies = 0;
    const items: [string, ReclaimItem][] = [];
    const due = Date.now() - (this.opts.retentionMs ?? 0);
    const queue = reclaimRange(owner);
    let dueInMs = Infinity;
    // a body item costs about three keys (chunk, summary, queue entry): read no more than the budget takes
    for await (const [key, v] of this.db.iterator({ ...queue, limit: Math.max(1, Math.floor(budget / 3)) })) {
      const item = decodeJson<ReclaimItem>(v);
      // The queue is in time order: the first item still under retention ends the step.
      if (item.at > due) {
        dueInMs = item.at - due;
        break;
      }
      items.push([key, item]);
    }
    if (items.length === 0) return { dueInMs };
    const stillUsed = await this.referenced(items.flatMap(([, it]) => (it.t === 'body' ? [it.b] : [])));
    const referenced = items.map(([, it]) => it.t === 'body' && stillUsed.has(it.b));
    for (let i = 0; i < items.length && ops.length < budget; i++) {
      const [key, item] = items[i]!;
      if (item.t === 'body') {
        if (!referenced[i]) {
          const chunks = Math.max(1, Math.ceil(item.bytes / BODY_CHUNK));
          for (let c = 0; c < chunks; c++) ops.push({ type: 'del', key: bodyChunkKey(item.b, c) });
          ops.push({ type: 'del', key: summaryKey(item.b) });
          reclaimedBytes += item.bytes;
          reclaimedBodies++;
        }
        ops.push({ type: 'del', key });
        done.push(item);
      } else {
        // A deleted mailbox: unlink its messages a slice at a time; each body gets its own item.
        let n = 0;
        for await (const [mk, mv] of this.db.iterator({ ...messageRange(item.m), limit: budget })) {
          const meta = decodeMeta(mv);
          ops.push({ type: 'del', key: mk }, { type: 'del', key: refKey(meta.bodyId, item.m, meta.uid) });
          const follow: ReclaimItem = { t: 'body', b: meta.bodyId, at: item.at, bytes: meta.size };
          ops.push({ type: 'put', key: reclaimKey(owner, this.opts.nextSeq()), value: encodeJson(follow) });
          followUps.push(follow);
          n++;
        }
        if (n < budget) {
          for await (const ek of this.db.keys(expungeLogRange(item.m))) ops.push({ type: 'del', key: ek });
          ops.push({ type: 'del', key });
          done.push(item);
        }
        this.noteChurn(messageRange(item.m), n);
      }
    }
    await this.db.batch(ops, { sync: false });
    // The queue is read from its start, so its own tombstones would slow every later step.
    this.noteChurn(queue, done.length);
    for (const it of done) this.count(owner, it, -1);
    for (const it of followUps) this.count(owner, it, +1);
    this.stats.reclaimedBodies += reclaimedBodies;
    this.stats.reclaimedBytes += reclaimedBytes;
    this.stats.steps++;
    return 'worked';
  }

  /**
   * The bodies among these that some live message still uses: one ranged lookup per body, side by
   * side. Not one iterator moved along with seek(): classic-level seeks on the calling thread, and a
   * seek steps over every deletion tombstone in its way; when references were keyed in write order a
   * mass expunge left thousands in a row, which held the event loop for seconds and made the governor
   * shed sessions (bench/incident-replay.ts). A ranged iterator seeks on LevelDB's worker thread.
   */
  private async referenced(bodyIds: readonly string[]): Promise<Set<string>> {
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

  private noteChurn(range: { gt: string; lt: string }, count: number): void {
    const c = this.churn.get(range.gt);
    if (c) c.count += count;
    else this.churn.set(range.gt, { ...range, count });
  }

  private async compactChurned(): Promise<void> {
    const limit = this.opts.compactAfter ?? DEFAULT_COMPACT_AFTER;
    if (!this.db.compactRange) return;
    for (const [k, c] of this.churn) {
      if (c.count < limit) continue;
      await this.db.compactRange(c.gt, c.lt);
      this.churn.delete(k);
      this.stats.compactions++;
    }
  }
}
