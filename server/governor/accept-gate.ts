// The second shedding tier: stop accepting for a moment when refusing costs too much.
//
// A refusal with a code (-ERR [SYS/TEMP], * BYE [UNAVAILABLE]) still costs the loop an accept, a
// write and a close. At ten times capacity those add up to more than the sessions being served, so
// while refusals take more than `budget` of the CPU the process used (CPU time, not wall time: a
// server held to a CPU quota, or descheduled on a busy machine, must not count the time it was not
// running as refusing; measured over 100 ms windows) the listeners
// close their listening sockets: the kernel then answers new connections with an immediate
// "connection refused" — no CPU of ours, and no SYN left unanswered for the client to retry after
// 1, 3, 7 s as a full backlog would. Merely not calling accept() (pausing reads of the accept queue)
// would be worse: the kernel completes the handshake, the client waits for a greeting that comes
// late or never. Accepting resumes as soon as the governor sees no waiting, and after `maxPauseMs`
// at the latest to look again. One log line when an episode starts, one when it ends.
import type { Logger } from '../../protocol/session-context.ts';
import type { Metrics } from '../metrics/index.ts';
import type { Clock } from './admission-queue.ts';

export interface AcceptGateOptions {
  /** Share of the loop refusals may take (0–1). */
  budget: number;
  /** Longest single pause, ms. */
  maxPauseMs: number;
}

const WINDOW_MS = 100;
/** Refusal CPU in a window below which no pause is considered (noise at a window's start), ms. */
const MIN_SPENT_MS = 2;
/**
 * The process's CPU is read again only once refusals grew by this much, ms: reading it is a system
 * call, and at ten times capacity one per refused connection took 8% of the server's CPU.
 */
const RECHECK_SPENT_MS = 0.5;
/** While paused, how often to look whether waiting dropped, ms. */
const RECHECK_MS = 20;
/** An episode ends when accepting stayed open this long, ms. */
const EPISODE_GAP_MS = 5000;

export type AcceptListener = (open: boolean) => void;

export class AcceptGate {
  private readonly listeners = new Set<AcceptListener>();
  private windowStart: number;
  private windowCpuMs: number;
  private spentMs = 0;
  private checkedAtSpentMs = 0;
  private pausedAt: number | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private episode: { since: number; pauses: number; pausedMs: number } | undefined;
  private episodeEnd: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: AcceptGateOptions,
    private readonly waiting: () => boolean,
    private readonly now: Clock,
    private readonly metrics?: Metrics,
    private readonly log?: Logger,
    /** CPU the process used so far, ms. */
    private readonly cpuMs: () => number = processCpuMs,
  ) {
    this.windowStart = now();
    this.windowCpuMs = cpuMs();
  }

  get paused(): boolean {
    return this.pausedAt !== undefined;
  }

  /** `fn(false)` when accepting should stop, `fn(true)` when it may go on. Returns an unsubscribe. */
  subscribe(fn: AcceptListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * What refusing one connection cost, ms. The listener times the refusal on the wall clock: it is
   * a few synchronous microseconds, so wall time is CPU time there (and costs no system call).
   */
  charge(ms: number): void {
    const t = this.now();
    if (t - this.windowStart >= WINDOW_MS) this.startWindow(t);
    this.spentMs += ms;
    if (this.paused || this.opts.budget >= 1 || this.spentMs < MIN_SPENT_MS) return;
    if (this.spentMs - this.checkedAtSpentMs < RECHECK_SPENT_MS) return;
    this.checkedAtSpentMs = this.spentMs;
    if (this.spentMs > this.opts.budget * (this.cpuMs() - this.windowCpuMs)) this.pause(t);
  }

  private startWindow(t: number): void {
    this.windowStart = t;
    this.windowCpuMs = this.cpuMs();
    this.spentMs = 0;
    this.checkedAtSpentMs = 0;
  }

  private pause(t: number): void {
    this.pausedAt = t;
    this.spentMs = 0;
    this.checkedAtSpentMs = 0;
    clearTimeout(this.episodeEnd);
    if (!this.episode) {
      this.episode = { since: t, pauses: 0, pausedMs: 0 };
      this.log?.warn({ budget: this.opts.budget }, 'overload: refusals exceed their CPU budget, pausing accepting');
    }
    this.episode.pauses++;
    this.metrics?.acceptPauses.inc();
    for (const fn of this.listeners) fn(false);
    this.recheck = setInterval(() => {
      if (this.waiting() && this.now() - t < this.opts.maxPauseMs) return;
      this.resume();
    }, RECHECK_MS);
    this.recheck.unref();
  }

  private resume(): void {
    if (this.pausedAt === undefined) return;
    clearInterval(this.recheck);
    const t = this.now();
    const ms = t - this.pausedAt;
    this.pausedAt = undefined;
    this.startWindow(t);
    this.episode!.pausedMs += ms;
    this.metrics?.acceptPausedSeconds.inc(ms / 1000);
    for (const fn of this.listeners) fn(true);
    this.episodeEnd = setTimeout(() => {
      const e = this.episode!;
      this.episode = undefined;
      this.log?.warn({ pauses: e.pauses, pausedMs: Math.round(e.pausedMs), lastedMs: Math.round(this.now() - e.since) }, 'overload over: accepting normally');
    }, EPISODE_GAP_MS);
    this.episodeEnd.unref();
  }

  close(): void {
    clearInterval(this.recheck);
    clearTimeout(this.episodeEnd);
    this.pausedAt = undefined;
    this.listeners.clear();
  }
}

/** CPU time the process has used, ms (user + system). */
function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
