// Physical deletion, continuous and in small steps (invariant 4). Expunges only remove messages from
// the live index and append to a durable per-account queue; this loop drains those queues a bounded
// number of keys at a time, one account after another (round-robin, so 300k deletions in one account
// do not hold up another's ten), and asks its gate before every step so client traffic goes first.
// After a round the backend may tidy up (LevelDB compacts ranges full of tombstones, invariant 5).
// A restart resumes from the durable queues. The schedule is here; what a step reads and writes is
// the backend's (backend.ts: queued, referenced, leftInMailbox, commit). On a store several processes
// share, only the one holding the backend's reclaim role runs it (start/standBy); it counts the
// queues that other processes add to again when it hears of them (recount).
import type { Backend, Change, QueueSummary } from './backend.ts';
import type { QueuedReclaim, ReclaimItem } from './records.ts';

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
/**
 * What a body costs a step, in keys: one per this many bytes plus its summary and queue entry (LevelDB
 * keeps bodies in chunks of this size, storage/level/keys.ts; the budget was measured there).
 */
const BODY_KEY_BYTES = 256 * 1024;
/** Keys per queue item, for how many items a step reads: a body item costs about three. */
const KEYS_PER_ITEM = 3;
/** Keys per message of a deleted mailbox: the message, its reference and its follow-up queue item. */
const KEYS_PER_UNLINK = 3;
/** setTimeout's longest delay (2^31 − 1 ms); a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;
/** Shortest wait for a retained item to fall due, ms: items due together are taken in one round. */
const MIN_RETRY_MS = 10;
/** When every due body of an account is held (being streamed), look again this much later, ms. */
const HELD_RETRY_MS = 100;

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
}

export class Reclaimer {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Steps failed in a row; sets the pause before the next try. */
  private failures = 0;
  private stopped = false;
  /** False while another process holds the reclaim role: nothing is counted or run. */
  private active = false;
  private idleWaiters: (() => void)[] = [];
  /** Queued items and their bytes per account; iteration order is the round-robin order. */
  private readonly backlog = new Map<string, { items: number; bytes: number }>();
  /**
   * Bodies being streamed to clients, and how many streams hold each. A client is told a literal's
   * length before its bytes are read, so a body freed half-way — another session expunged the
   * message — left nothing to do but cut the connection (imaptest stress with 4 MB messages: 244
   * cuts in 30 s). A held body stays queued until the last hold ends.
   */
  private readonly held = new Map<string, number>();
  /** Bodies the step in flight drops, and its commit: a hold taken meanwhile waits for it. */
  private dropping: { bodies: ReadonlySet<string>; commit: Promise<unknown> } | undefined;
  readonly stats: ReclaimStats = {
    backlogItems: 0, backlogBytes: 0, oldestAt: 0, reclaimedBodies: 0, reclaimedBytes: 0, steps: 0,
  };

  constructor(
    private readonly backend: Pick<Backend, 'queued' | 'referenced' | 'leftInMailbox' | 'commit' | 'compact'>,
    private readonly opts: ReclaimerOptions,
  ) {}

  /** Accounts with something queued. */
  get accountsWaiting(): number {
    return this.backlog.size;
  }

  /**
   * Keeps these bodies from being reclaimed until the returned release is called. Resolves once no
   * step that drops one of them is still committing, so a read after it finds each body whole, or
   * gone before the reader has sent a byte of it.
   */
  async hold(bodyIds: readonly string[]): Promise<() => void> {
    for (const b of bodyIds) this.held.set(b, (this.held.get(b) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const b of bodyIds) {
        const n = this.held.get(b)! - 1;
        if (n > 0) this.held.set(b, n);
        else this.held.delete(b);
      }
    };
    const d = this.dropping;
    if (d && bodyIds.some((b) => d.bodies.has(b))) await d.commit;
    return release;
  }

  /**
   * Counts the durable queues left by an earlier run (or by other processes), then starts draining
   * them; undefined: another process reclaims, this one stands by. Returns the highest queue sequence
   * number in use, so that new items sort after old ones.
   */
  start(queues: readonly QueueSummary[] | undefined): number {
    this.standBy();
    if (!queues) return 0;
    this.active = true;
    let maxSeq = 0;
    for (const q of queues) {
      this.recount(q.owner, q);
      maxSeq = Math.max(maxSeq, q.maxSeq);
    }
    this.wake();
    return maxSeq;
  }

  /** Another process took the reclaim role: forget the counts and stop after the current step. */
  standBy(): void {
    this.active = false;
    this.backlog.clear();
    this.stats.backlogItems = 0;
    this.stats.backlogBytes = 0;
    this.stats.oldestAt = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** An account's queue as counted in the store now (undefined: empty). */
  recount(owner: string, q: QueueSummary | undefined): void {
    if (!this.active) return;
    const had = this.backlog.get(owner) ?? { items: 0, bytes: 0 };
    this.stats.backlogItems += (q?.items ?? 0) - had.items;
    this.stats.backlogBytes += (q?.bytes ?? 0) - had.bytes;
    if (q && q.items > 0) {
      this.backlog.set(owner, { items: q.items, bytes: q.bytes });
      if (this.stats.oldestAt === 0 || q.oldestAt < this.stats.oldestAt) this.stats.oldestAt = q.oldestAt;
    } else this.backlog.delete(owner);
    if (this.stats.backlogItems === 0) this.stats.oldestAt = 0;
    this.wake();
  }

  /** Called by the store after a commit that queued an account's items succeeded. */
  queued(owner: string, items: readonly ReclaimItem[]): void {
    if (!this.active) return;
    for (const it of items) this.count(owner, it, +1);
    this.wake();
  }

  /** Items taken off an account's queue by someone else (undelete), once that commit succeeded. */
  dequeued(owner: string, items: readonly ReclaimItem[]): void {
    if (!this.active) return;
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
    const had = this.backlog.get(owner) ?? { items: 0, bytes: 0 };
    // never below zero: a recount from the store may already have counted this item out
    const items = Math.max(0, had.items + sign);
    const bytes = items > 0 ? Math.max(0, had.bytes + (it.t === 'body' ? sign * it.bytes : 0)) : 0;
    if (items > 0) this.backlog.set(owner, { items, bytes });
    else this.backlog.delete(owner);
    this.stats.backlogItems += items - had.items;
    this.stats.backlogBytes += bytes - had.bytes;
    if (sign > 0 && (this.stats.oldestAt === 0 || it.at < this.stats.oldestAt)) this.stats.oldestAt = it.at;
    if (this.stats.backlogItems === 0) this.stats.oldestAt = 0;
  }

  /** Comes back when the oldest retained item falls due. */
  private retryAt(ms: number): void {
    if (this.stopped || !this.active || this.timer || !Number.isFinite(ms)) return;
    this.schedule(Math.min(MAX_TIMER_MS, Math.max(MIN_RETRY_MS, ms)));
  }

  private wake(): void {
    if (this.running || this.stopped || !this.active || this.timer) return;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.run(), ms);
    this.timer.unref?.();
  }

  /**
   * The only caller of loop(). A step that fails (a read or a commit of the backend) must not become
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
        if (this.stopped || !this.active || this.timer) return;
        this.schedule(Math.min(MAX_FAILURE_BACKOFF_MS, (this.opts.backoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** (this.failures - 1)));
      },
    );
  }

  private async loop(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    try {
      // One round = one bounded step for every account with a backlog, in turn.
      while (!this.stopped && this.active) {
        let worked = false;
        let dueInMs = Infinity;
        for (const owner of [...this.backlog.keys()]) {
          if (this.stopped || !this.active) break;
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
      if (!this.stopped) await this.backend.compact?.();
    } finally {
      this.running = false;
    }
    if (this.stats.backlogItems <= 0 || this.stopped || !this.active) {
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
    const changes: Change[] = [];
    let cost = 0;
    const done: ReclaimItem[] = [];
    const followUps: ReclaimItem[] = [];
    let reclaimedBytes = 0;
    let reclaimedBodies = 0;
    const items: QueuedReclaim[] = [];
    const due = Date.now() - (this.opts.retentionMs ?? 0);
    let dueInMs = Infinity;
    // replaced whenever the count changes (count, recount)
    const counted = this.backlog.get(owner);
    for (const q of await this.backend.queued(owner, Math.max(1, Math.floor(budget / KEYS_PER_ITEM)))) {
      // The queue is in time order: the first item still under retention ends the step.
      if (q.item.at > due) {
        dueInMs = q.item.at - due;
        break;
      }
      items.push(q);
    }
    if (items.length === 0) {
      // counted from a summary read while other processes queued and this one reclaimed: settle it,
      // unless the count moved while the queue was read (an item queued meanwhile is not in it)
      if (dueInMs === Infinity && this.backlog.get(owner) === counted) this.recount(owner, undefined);
      return { dueInMs };
    }
    const stillUsed = await this.backend.referenced(items.flatMap(({ item }) => (item.t === 'body' ? [item.b] : [])));
    const dropped = new Set<string>();
    let heldBack = false;
    for (let i = 0; i < items.length && cost < budget; i++) {
      const { seq, item } = items[i]!;
      if (item.t === 'body') {
        if (this.held.has(item.b)) {
          heldBack = true; // stays queued: a later step takes it once its streams are over
          continue;
        }
        if (!stillUsed.has(item.b)) {
          dropped.add(item.b);
          changes.push({ t: 'dropBody', bodyId: item.b, bytes: item.bytes });
          cost += Math.max(1, Math.ceil(item.bytes / BODY_KEY_BYTES)) + 1;
          reclaimedBytes += item.bytes;
          reclaimedBodies++;
        }
        changes.push({ t: 'dequeueReclaim', owner, seq });
        cost++;
        done.push(item);
      } else {
        // A deleted mailbox: unlink its messages a slice at a time; each body gets its own item.
        const left = await this.backend.leftInMailbox(item.m, budget);
        for (const meta of left) {
          const follow: ReclaimItem = { t: 'body', b: meta.bodyId, at: item.at, bytes: meta.size };
          changes.push(
            { t: 'unlink', mailboxId: item.m, uid: meta.uid, bodyId: meta.bodyId },
            { t: 'queueReclaim', owner, seq: this.opts.nextSeq(), item: follow },
          );
          followUps.push(follow);
        }
        cost += left.length * KEYS_PER_UNLINK;
        if (left.length < budget) {
          changes.push({ t: 'dropExpungeLog', mailboxId: item.m }, { t: 'dequeueReclaim', owner, seq });
          done.push(item);
        }
      }
    }
    if (changes.length === 0 && heldBack) return { dueInMs: HELD_RETRY_MS };
    const commit = this.backend.commit(changes, { durable: false });
    this.dropping = dropped.size ? { bodies: dropped, commit: commit.catch(() => undefined) } : undefined;
    try {
      await commit;
    } finally {
      this.dropping = undefined;
    }
    for (const it of done) this.count(owner, it, -1);
    for (const it of followUps) this.count(owner, it, +1);
    this.stats.reclaimedBodies += reclaimedBodies;
    this.stats.reclaimedBytes += reclaimedBytes;
    this.stats.steps++;
    return 'worked';
  }
}
