// The one place that decides admission (invariant 6). Protocol code asks; it never decides alone.
//
// Busy is not overloaded (invariant 10). A bounded set of clients that each wait for their answer
// (a closed loop) cannot overload the server however slow it runs: every new session or command
// follows the end of an earlier one, so the work outstanding never exceeds the number of clients.
// Overload is arrivals outrunning service: outstanding work grows and waits. So nothing is refused
// for waiting until the work outstanding — sessions still starting (accepted, not yet logged in) or
// active (a command in the last second), plus heavy commands queued; or the connections counted
// in a listener's accept queue, where a server that cannot keep up leaves them before any clock of
// its own starts — reaches `closedLoopClients`, and then only while that work waits: heavy-command
// sojourn, session-start latency (accept → login), the accept queue's probes (each a CoDel) or
// event-loop delay stay above their targets. Event-loop utilization and CPU busy-ness are no signal
// at all: ten closed-loop clients keep one loop busy all the time, and so does another process on
// a shared machine. A refused connection adds nothing to what is outstanding, so refusals cannot
// sustain the state that caused them: a burst of reconnects ends when the burst ends.
//
// Once that happens the server is in an overload episode: the mark drops to `episodeClients`, at
// which new sessions are refused whether or not anything waits yet, and climbs back a step each
// SAMPLE_MS in which nothing waits. Sessions admitted during an overload then find a server that
// answers them at once instead of one that keeps a closedLoopClients-deep queue full; a closed loop
// caught in an episode is held back for about a second while the mark climbs past its size.
//
// Refusals are cheap but not free. While they stay within `refusalBudget` of the loop the server
// refuses with the protocols' codes; beyond it the listeners stop accepting for a moment
// (accept-gate.ts), which costs the server nothing, and resume as soon as waiting drops.
//
// Priorities, highest first: finishing admitted work (never asked: QUIT commits, EXPUNGE, deliveries
// in flight just run) > logins of admitted sessions (refused only when forced) > new sessions and
// their heavy reads > background work (the reclaimer runs only when nothing waits).
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import {
  OverloadedError, type Admission, type Governor as GovernorContract, type Logger, type Protocol, type Refusal,
} from '../../protocol/session-context.ts';
import type { AcceptWait } from '../listeners.ts';
import type { Metrics } from '../metrics/index.ts';
import { AcceptGate } from './accept-gate.ts';
import { AdmissionQueue, type Clock, type Lane } from './admission-queue.ts';
import { CoDel } from './codel.ts';
import { Turns } from './turns.ts';

export interface GovernorOptions {
  /** Open sessions at most, all protocols together. */
  maxSessions: number;
  /** Open sessions from one remote address at most. */
  maxSessionsPerAddress: number;
  /** Logged-in sessions of one account at most (POP3 + IMAP). */
  maxSessionsPerUser: number;
  /** Heavy commands running at once. */
  heavyConcurrency: number;
  /** Heavy commands waiting at most. */
  maxQueued: number;
  /** Heavy commands of one account running or waiting at most, once shedding is allowed at all. */
  maxQueuedPerUser: number;
  /** How long a heavy command may wait to start once shedding is allowed, ms. */
  deadlineMs: number;
  /** CoDel: heavy-command queue sojourn target and interval, ms. */
  sojournTargetMs: number;
  sojournIntervalMs: number;
  /** CoDel on session-start latency (accept → logged in): target, ms (interval as above). */
  startTargetMs: number;
  /** Event-loop delay (p99 over a 100 ms sample, two samples in a row) that counts as waiting, ms. */
  eventLoopDelayLimitMs: number;
  /**
   * Work outstanding (sessions not yet logged in or with a command in the last second + heavy
   * commands waiting) below which
   * nothing is refused for waiting: a closed loop of up to this many clients never is.
   */
  closedLoopClients: number;
  /** CoDel on waiting in the kernel's accept queue (listeners.ts probes it): target, ms. */
  acceptWaitLimitMs: number;
  /** The outstanding-work mark during an overload episode (it climbs back to closedLoopClients). */
  episodeClients: number;
  /** Storage latency (moving average) that counts as overload, ms. */
  storageLatencyLimitMs: number;
  /** Share of the event loop that refusing connections may take before accepting pauses (0–1). */
  refusalBudget: number;
  /** Longest single pause of accepting, ms; it ends sooner once waiting drops. */
  acceptPauseMs: number;
  /**
   * How much of one event-loop turn commands may start in before the rest wait for the next turn,
   * ms; logins never wait (turns.ts).
   */
  turnBudgetMs: number;
}

export const DEFAULT_GOVERNOR_OPTIONS: GovernorOptions = {
  maxSessions: 4000,
  maxSessionsPerAddress: 2000,
  maxSessionsPerUser: 100,
  heavyConcurrency: 32,
  maxQueued: 512,
  maxQueuedPerUser: 128,
  deadlineMs: 1000,
  sojournTargetMs: 50,
  sojournIntervalMs: 500,
  startTargetMs: 250,
  eventLoopDelayLimitMs: 50,
  closedLoopClients: 128,
  acceptWaitLimitMs: 100,
  episodeClients: 32,
  storageLatencyLimitMs: 1000,
  refusalBudget: 0.15,
  acceptPauseMs: 250,
  turnBudgetMs: 4,
};

/**
 * `startServer({ governor: false })`: no limits and no shedding at all — for a test suite that wants
 * every connection served however it loads the machine. Forced shedding (chaos) still works.
 */
export const NO_SHEDDING: Partial<GovernorOptions> = {
  maxSessions: Infinity,
  maxSessionsPerAddress: Infinity,
  maxSessionsPerUser: Infinity,
  maxQueued: Infinity,
  maxQueuedPerUser: Infinity,
  closedLoopClients: Infinity,
  storageLatencyLimitMs: Infinity,
  refusalBudget: 1,
};

export type OverloadReason = 'forced' | 'queue' | 'start' | 'event-loop' | 'accept' | 'storage';

export interface GovernorStats {
  sessions: number;
  /** Sessions accepted and not yet logged in. */
  starting: number;
  queued: number;
  running: number;
  overload: OverloadReason | null;
  eventLoopDelayMs: number;
  storageLatencyMs: number;
  acceptPaused: boolean;
  /** Outstanding work at which shedding starts now (lower than closedLoopClients during an episode). */
  shedMark: number;
}

const SAMPLE_MS = 100;
/** A logged-in session that sent a command this recently counts as work outstanding, ms. */
const ACTIVE_MS = 1000;
/** How often the active sessions are counted again, ms. */
const RECOUNT_MS = 100;

/** One listener's accept queue as its probes saw it. */
interface AcceptQueue {
  /** When a probe last reported. */
  at: number;
  /** Connections accepted ahead of the last probe: how many waited in the queue when it was sent. */
  queued: number;
  codel: CoDel;
}

/** A logged-in session's last command (IMAP sessions in IDLE and idle connections drop out). */
interface Activity {
  last: number;
}
/** Consecutive slow samples before the event loop counts as waiting. */
const SLOW_WINDOWS = 2;
/** An accept-queue observation older than this is not news any more, ms. */
const ACCEPT_WAIT_FRESH_MS = 250;
/** During an episode the mark climbs back this share of closedLoopClients per sample without waiting. */
const EPISODE_STEP = 1 / 16;
/**
 * Event-loop utilization above which the accept queue is probed. Not a shedding signal (busy is
 * not overloaded), only a hint that connections may be waiting where no other clock sees them.
 */
const PROBE_WHEN_BUSY = 0.5;

export class Governor implements GovernorContract {
  readonly options: GovernorOptions;
  private readonly acceptGate: AcceptGate;
  private readonly queue: AdmissionQueue;
  private readonly codel: CoDel;
  private readonly startCodel: CoDel;
  private readonly perAddress = new Map<string, number>();
  private readonly perUser = new Map<string, number>();
  private sessions = 0;
  private starting = 0;
  private readonly running = new Set<Activity>();
  private activeCount = 0;
  private countedAt = -Infinity;
  private forced = false;
  private eventLoopDelayMs = 0;
  private slowWindows = 0;
  private storageLatencyMs = 0;
  /**
   * Each listener's accept queue (by port): how many connections the last probe found ahead of it,
   * and a CoDel on the probes' waits — a standing queue, not one stall of the loop. Per listener, since a short IMAP queue says nothing of a deep
   * POP3 one.
   */
  private readonly acceptQueues = new Map<number, AcceptQueue>();
  private elu = performance.eventLoopUtilization();
  private busy = false;
  /** An overload episode: why it began, and when work last waited at its mark (the climb starts there). */
  private episode: { reason: OverloadReason; waitedAt: number } | undefined;
  private readonly histogram: IntervalHistogram | undefined;
  private readonly turns: Turns;
  private readonly sampler: NodeJS.Timeout | undefined;

  constructor(
    options: Partial<GovernorOptions> = {}, private readonly metrics?: Metrics, private readonly now: Clock = () => performance.now(),
    sample = true, log?: Logger,
  ) {
    this.options = { ...DEFAULT_GOVERNOR_OPTIONS, ...options };
    const o = this.options;
    this.codel = new CoDel(o.sojournTargetMs, o.sojournIntervalMs, now);
    this.turns = new Turns(o.turnBudgetMs, now);
    this.startCodel = new CoDel(o.startTargetMs, o.sojournIntervalMs, now);
    this.queue = new AdmissionQueue(
      { concurrency: o.heavyConcurrency, maxQueued: o.maxQueued, maxPerUser: o.maxQueuedPerUser, deadlineMs: o.deadlineMs },
      (ms) => {
        this.codel.observe(ms);
        this.metrics?.sojourn.observe(ms / 1000);
      },
      now,
      () => this.mayShed(),
    );
    this.acceptGate = new AcceptGate(
      { budget: o.refusalBudget, maxPauseMs: o.acceptPauseMs },
      () => this.overload() !== null,
      now, metrics, log,
    );
    // A closed listener has no accept queue: what the last probes saw there is over.
    this.acceptGate.subscribe((open) => {
      if (!open) this.acceptQueues.clear();
    });
    if (sample) {
      this.histogram = monitorEventLoopDelay({ resolution: 10 });
      this.histogram.enable();
      this.sampler = setInterval(() => this.sample(), SAMPLE_MS);
      this.sampler.unref();
    }
  }

  private sample(): void {
    const h = this.histogram!;
    this.eventLoopDelayMs = h.percentile(99) / 1e6;
    h.reset();
    // Sustained, not a spike: one GC pause must not turn clients away (CoDel's idea, for the loop).
    this.slowWindows = this.eventLoopDelayMs > this.options.eventLoopDelayLimitMs ? this.slowWindows + 1 : 0;
    this.metrics?.eventLoopDelay.set(this.eventLoopDelayMs / 1000);
    this.metrics?.queueDepth.set(this.queue.depth);
    const elu = performance.eventLoopUtilization();
    this.busy = performance.eventLoopUtilization(elu, this.elu).utilization > PROBE_WHEN_BUSY;
    this.elu = elu;
  }

  /**
   * Outstanding work at which shedding starts: closedLoopClients; during an episode episodeClients,
   * climbing a step for each SAMPLE_MS since work last waited at the mark, until the episode is over.
   */
  private get mark(): number {
    const o = this.options;
    if (!this.episode) return o.closedLoopClients;
    const steps = Math.floor((this.now() - this.episode.waitedAt) / SAMPLE_MS);
    const mark = Math.min(o.episodeClients, o.closedLoopClients) + steps * Math.max(1, o.closedLoopClients * EPISODE_STEP);
    if (mark < o.closedLoopClients) return mark;
    this.episode = undefined;
    return o.closedLoopClients;
  }



  /**
   * Sessions still starting, logged-in sessions with a command in the last second, heavy commands
   * waiting. A closed loop of N clients never has more than N; an open-loop overload grows it.
   */
  get outstanding(): number {
    const t = this.now();
    if (t - this.countedAt >= RECOUNT_MS) {
      this.countedAt = t;
      let n = 0;
      for (const a of this.running) if (t - a.last < ACTIVE_MS) n++;
      this.activeCount = n;
    }
    return this.starting + this.activeCount + this.queue.depth;
  }

  /**
   * Connections waiting in the kernel's accept queue, as the probes counted them (listeners.ts): the
   * most of any listener, while its queue is standing (CoDel) — not after one stall of a loop
   * starved by other processes. A closed loop of N clients never has more than N there.
   */
  private kernelQueued(): number {
    const t = this.now();
    let n = 0;
    for (const q of this.acceptQueues.values()) if (q.codel.overloaded && t - q.at < ACCEPT_WAIT_FRESH_MS) n = Math.max(n, q.queued);
    return n;
  }

  /**
   * More outstanding work than a closed loop of `closedLoopClients` can make: arrivals outran service
   * (or, during an episode, more than its lowered mark).
   */
  private mayShed(): boolean {
    const mark = this.mark;
    return this.forced || this.outstanding >= mark || this.kernelQueued() >= mark;
  }

  /** Which clock shows work waiting, if one does. */
  private waiting(): OverloadReason | null {
    if (this.codel.overloaded) return 'queue';
    if (this.startCodel.overloaded) return 'start';
    if (this.slowWindows >= SLOW_WINDOWS) return 'event-loop';
    for (const q of this.acceptQueues.values()) if (q.codel.overloaded) return 'accept';
    return null;
  }

  /** Why the server counts as overloaded right now, or null. */
  overload(): OverloadReason | null {
    if (this.forced) return 'forced';
    if (this.storageLatencyMs > this.options.storageLatencyLimitMs) return 'storage';
    if (!this.mayShed()) return null;
    const waiting = this.waiting();
    // at the mark and waiting: the episode (re)starts at its lowest mark
    if (waiting) this.episode = { reason: this.episode?.reason ?? waiting, waitedAt: this.now() };
    return this.episode ? this.episode.reason : waiting;
  }

  /** The listeners probe the accept queue only while it could matter: a busy loop, or shedding in reach. */
  probeAccepts(): boolean {
    return this.busy || this.outstanding >= this.mark / 2;
  }

  observeAcceptWait(port: number, wait: AcceptWait): void {
    // a probe still in the queue is a lower bound: below the target it says nothing yet
    if (!wait.accepted && wait.ms < this.options.acceptWaitLimitMs) return;
    let q = this.acceptQueues.get(port);
    if (!q) {
      q = { at: 0, queued: 0, codel: new CoDel(this.options.acceptWaitLimitMs, this.options.sojournIntervalMs, this.now) };
      this.acceptQueues.set(port, q);
    }
    q.at = this.now();
    q.queued = wait.ahead;
    q.codel.observe(wait.ms);
    this.metrics?.acceptWait.set({ port: String(port) }, wait.ms / 1000);
  }


  /** Tests and chaos: refuse all new work as if overloaded. */
  forceShed(on: boolean): void {
    this.forced = on;
  }

  get forcedShed(): boolean {
    return this.forced;
  }

  /** Fed by the timed store with each operation's latency. */
  observeStorage(ms: number): void {
    this.storageLatencyMs = this.storageLatencyMs * 0.9 + ms * 0.1;
  }

  /** The listeners follow this: closed while refusals exceed their CPU budget (the second tier). */
  onAcceptChange(fn: (open: boolean) => void): () => void {
    return this.acceptGate.subscribe(fn);
  }

  /** The listeners report what refusing a connection cost the loop (the accept gate's budget). */
  chargeRefusal(ms: number): void {
    this.acceptGate.charge(ms);
  }

  private refuse(point: 'connect' | 'login' | 'command', protocol: Protocol, kind: Refusal['kind'], reason: string, text: string): Refusal {
    this.metrics?.shed.inc({ point, protocol, reason });
    return { refused: true, kind, text };
  }

  admitSession(protocol: Protocol, remoteAddress: string): Admission {
    const o = this.options;
    const overload = this.overload();
    if (overload) return this.refuse('connect', protocol, 'busy', overload, 'server busy, try again later');
    if (this.sessions >= o.maxSessions) return this.refuse('connect', protocol, 'busy', 'sessions', 'too many connections, try again later');
    const fromAddr = this.perAddress.get(remoteAddress) ?? 0;
    if (fromAddr >= o.maxSessionsPerAddress) return this.refuse('connect', protocol, 'limit', 'address', 'too many connections from your address');
    this.sessions++;
    this.starting++;
    this.perAddress.set(remoteAddress, fromAddr + 1);
    this.metrics?.sessions.inc({ protocol });
    this.metrics?.admitted.inc({ point: 'connect', protocol });
    const accepted = this.now();
    const activity: Activity = { last: accepted };
    let starting = true;
    const started = () => {
      if (!starting) return;
      starting = false;
      this.starting--;
      this.running.add(activity);
    };
    return this.admitted(() => {
      started();
      this.running.delete(activity);
      this.sessions--;
      decrement(this.perAddress, remoteAddress);
      this.metrics?.sessions.dec({ protocol });
    }, () => {
      if (!starting) return;
      started();
      const ms = this.now() - accepted;
      this.startCodel.observe(ms);
      this.metrics?.sessionStart.observe(ms / 1000);
    }, () => {
      activity.last = this.now();
    });
  }

  admitLogin(protocol: Protocol, user: string, _remoteAddress: string): Admission {
    // Logins of sessions already admitted rank above new sessions: only a forced shed refuses them.
    if (this.forced) return this.refuse('login', protocol, 'busy', 'forced', 'server busy, try again later');
    const mine = this.perUser.get(user) ?? 0;
    if (mine >= this.options.maxSessionsPerUser) return this.refuse('login', protocol, 'limit', 'user', 'too many sessions for this account');
    this.perUser.set(user, mine + 1);
    this.metrics?.admitted.inc({ point: 'login', protocol });
    return this.admitted(() => decrement(this.perUser, user));
  }

  heavy<T>(protocol: Protocol, user: string, command: string, work: () => Promise<T>): Promise<T> {
    return this.queued(protocol, user, command, work, 'command');
  }

  loginWork<T>(protocol: Protocol, user: string, work: () => Promise<T>): Promise<T> {
    return this.queued(protocol, user, 'LOGIN', work, 'login');
  }

  private async queued<T>(protocol: Protocol, user: string, command: string, work: () => Promise<T>, lane: Lane): Promise<T> {
    if (this.forced) {
      this.metrics?.shed.inc({ point: 'command', protocol, reason: 'forced' });
      throw new OverloadedError('server busy, try again later');
    }
    const started = performance.now();
    try {
      const result = await this.queue.run(user, work, lane);
      this.metrics?.command.observe({ protocol, command }, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      if (err instanceof OverloadedError) this.metrics?.shed.inc({ point: 'command', protocol, reason: 'queue' });
      throw err;
    }
  }

  turn(): Promise<void> | undefined {
    return this.turns.take();
  }

  /** May background work (the reclaimer) take a step now? Only when nothing waits and no overload. */
  background(): boolean {
    return this.overload() === null && this.queue.depth === 0;
  }

  stats(): GovernorStats {
    return {
      sessions: this.sessions,
      starting: this.starting,
      queued: this.queue.depth,
      running: this.queue.inFlight,
      overload: this.overload(),
      eventLoopDelayMs: this.eventLoopDelayMs,
      storageLatencyMs: this.storageLatencyMs,
      acceptPaused: this.acceptGate.paused,
      shedMark: this.mark,
    };
  }

  private admitted(release: () => void, started: () => void = () => undefined, active: () => void = () => undefined): Admission {
    let done = false;
    return {
      refused: false,
      started,
      active,
      release() {
        if (done) return;
        done = true;
        release();
      },
    };
  }

  close(): void {
    if (this.sampler) clearInterval(this.sampler);
    this.histogram?.disable();
    this.acceptGate.close();
  }
}

function decrement(m: Map<string, number>, key: string): void {
  const n = (m.get(key) ?? 1) - 1;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}
