// The one place that commits. Mutations queue up; each round takes everything waiting, lets every
// mutation write into one shared transaction, hands its changes to the backend as one atomic commit
// (one LevelDB batch with one fsync: group commit), and only then makes the changes visible and
// resolves the callers (invariant 3: durable before yes). If the commit fails, every caller in the
// round gets StoreUnavailableError and nothing becomes visible.
//
// On a store several processes share, a round can be refused because another process changed one of
// its accounts first (CommitConflictError). Nothing of it was applied and every mutation's prepare is
// a pure function of the indexes, so the round is prepared again on the refreshed indexes and
// committed again, up to MAX_ATTEMPTS times. The refresh itself (`catchUp`) runs here, between
// rounds, so that an index never changes under a round in flight.
import { StoreUnavailableError } from '../errors.ts';
import type { MessageMeta } from '../types.ts';
import { CommitConflictError, type Backend, type Change } from './backend.ts';
import type { MailboxIndex } from './mailbox-index.ts';

/**
 * The write set of one commit round. Mutations read through it, so two mutations in one round see
 * each other's changes (a flag change after an append of the same message, two expunges…).
 */
export class Tx {
  readonly changes: Change[] = [];
  private readonly effects: (() => void)[] = [];
  private readonly staged = new Map<MailboxIndex, Map<number, MessageMeta | null>>();

  write(change: Change): void {
    this.changes.push(change);
  }

  /** Runs after a successful commit, in order: makes the change visible and notifies watchers. */
  onCommit(effect: () => void): void {
    this.effects.push(effect);
  }

  /** The message as this round sees it: staged change first, then the visible index. */
  meta(box: MailboxIndex, uid: number): MessageMeta | undefined {
    const s = this.staged.get(box)?.get(uid);
    if (s !== undefined) return s ?? undefined;
    return box.get(uid);
  }

  stage(box: MailboxIndex, uid: number, meta: MessageMeta | null): void {
    let m = this.staged.get(box);
    if (!m) this.staged.set(box, (m = new Map()));
    m.set(uid, meta);
  }

  applyEffects(): void {
    for (const e of this.effects) e();
  }
}

interface Job {
  /** Writes into the transaction and returns the caller's result. Must throw only before its first write. */
  prepare(tx: Tx): unknown;
  /** Exclusive jobs (mailbox create/rename/delete) commit alone, so they never share a round. */
  exclusive: boolean;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export interface CommitStats {
  rounds: number;
  jobs: number;
}

/**
 * Mutations per round at most: a round is prepared on the event loop in one piece, so an unbounded
 * one (a burst of thousands of deliveries) would hold every session up while it is built.
 */
const MAX_JOBS_PER_ROUND = 512;

/**
 * Tries of a round that conflicts with other processes' commits before its callers get a temporary
 * error. Each try first reloads the accounts that moved, so two nodes writing one account at full
 * speed take turns instead of failing.
 */
const MAX_ATTEMPTS = 4;

export interface CommitQueueOptions {
  maxJobsPerRound?: number;
  /**
   * Before each round (and when poked): brings the accounts another process changed up to date.
   * Returns undefined when there is nothing to do, so a store alone on its backend pays nothing. It
   * reports its own failures; the round then fails with a temporary error.
   */
  catchUp?: () => Promise<void> | undefined;
}

export class CommitQueue {
  private readonly waiting: Job[] = [];
  private running = false;
  private poked = false;
  readonly stats: CommitStats = { rounds: 0, jobs: 0 };
  private readonly maxJobsPerRound: number;

  constructor(
    private readonly backend: Pick<Backend, 'commit'>,
    private readonly opts: CommitQueueOptions = {},
  ) {
    this.maxJobsPerRound = opts.maxJobsPerRound ?? MAX_JOBS_PER_ROUND;
  }

  /** Runs catchUp as soon as no round is in flight, even with nothing to commit. */
  poke(): void {
    this.poked = true;
    if (!this.running) void this.drain();
  }

  run<T>(prepare: (tx: Tx) => T, exclusive = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ prepare, exclusive, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Resolves once everything queued so far is committed or failed. */
  async idle(): Promise<void> {
    while (this.running || this.waiting.length) await new Promise((r) => setImmediate(r));
  }

  private takeRound(): Job[] {
    const first = this.waiting.shift()!;
    if (first.exclusive) return [first];
    const round = [first];
    while (round.length < this.maxJobsPerRound && this.waiting.length && !this.waiting[0]!.exclusive) {
      round.push(this.waiting.shift()!);
    }
    return round;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length || this.poked) {
        this.poked = false;
        if (this.waiting.length) await this.runRound(this.takeRound());
        // catchUp reported its failure and will be poked again
        else await this.opts.catchUp?.()?.catch(() => undefined);
      }
    } finally {
      this.running = false;
    }
  }

  private async runRound(round: Job[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.catchUp?.();
      } catch (err) {
        const failure = new StoreUnavailableError(`store not reachable: ${(err as Error).message}`);
        for (const job of round) job.reject(failure);
        return;
      }
      const tx = new Tx();
      const prepared: { job: Job; value: unknown }[] = [];
      for (const job of round) {
        try {
          prepared.push({ job, value: job.prepare(tx) });
        } catch (err) {
          job.reject(err);
        }
      }
      if (prepared.length === 0) return;
      try {
        if (tx.changes.length) await this.backend.commit(tx.changes, { durable: true });
      } catch (err) {
        if (err instanceof CommitConflictError && attempt < MAX_ATTEMPTS) {
          round = prepared.map((p) => p.job);
          continue;
        }
        const failure = new StoreUnavailableError(`commit failed: ${(err as Error).message}`);
        for (const p of prepared) p.job.reject(failure);
        return;
      }
      this.stats.rounds++;
      this.stats.jobs += prepared.length;
      tx.applyEffects();
      for (const p of prepared) p.job.resolve(p.value);
      return;
    }
  }
}
