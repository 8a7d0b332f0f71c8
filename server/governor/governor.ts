// The one place that decides admission (invariant 6). Protocol code asks; it never decides alone.
//
// Signals: admission-queue sojourn (CoDel), event-loop delay, storage latency, session counts.
// Priorities, highest first: finishing admitted work (never asked: QUIT commits, EXPUNGE, deliveries
// in flight just run) > authentication of admitted sessions (refused only in severe overload) >
// new sessions and their heavy reads (refused as soon as overload shows) > background work
// (the reclaimer runs only when nothing waits).
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import {
  OverloadedError, type Admission, type Governor as GovernorContract, type Protocol, type Refusal,
} from '../../protocol/session-context.ts';
import type { Metrics } from '../metrics/index.ts';
import { AdmissionQueue, type Clock } from './admission-queue.ts';
import { CoDel } from './codel.ts';

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
  /** Heavy commands of one account running or waiting at most. */
  maxQueuedPerUser: number;
  /** How long a heavy command may wait to start, ms. */
  deadlineMs: number;
  /** CoDel: queue sojourn target and interval, ms. */
  sojournTargetMs: number;
  sojournIntervalMs: number;
  /** Event-loop delay (p99 over the last sample) that counts as overload, ms. */
  eventLoopDelayLimitMs: number;
  /**
   * Share of time the event loop was busy (0–1) that counts as overload. A saturated loop that turns
   * over quickly (many short callbacks) shows little delay but no idle time: this catches it.
   */
  eventLoopUtilizationLimit: number;
  /** Storage latency (moving average) that counts as overload, ms. */
  storageLatencyLimitMs: number;
}

export const DEFAULT_GOVERNOR_OPTIONS: GovernorOptions = {
  maxSessions: 4000,
  maxSessionsPerAddress: 2000,
  maxSessionsPerUser: 50,
  heavyConcurrency: 32,
  maxQueued: 512,
  maxQueuedPerUser: 32,
  deadlineMs: 1000,
  sojournTargetMs: 50,
  sojournIntervalMs: 500,
  eventLoopDelayLimitMs: 50,
  eventLoopUtilizationLimit: 0.95,
  storageLatencyLimitMs: 1000,
};

export type OverloadReason = 'forced' | 'queue' | 'event-loop' | 'storage';

export interface GovernorStats {
  sessions: number;
  queued: number;
  running: number;
  overload: OverloadReason | null;
  eventLoopDelayMs: number;
  storageLatencyMs: number;
}

const SAMPLE_MS = 100;
/** Consecutive slow samples before the event loop counts as overloaded. */
const SLOW_WINDOWS = 2;

export class Governor implements GovernorContract {
  readonly options: GovernorOptions;
  private readonly queue: AdmissionQueue;
  private readonly codel: CoDel;
  private readonly perAddress = new Map<string, number>();
  private readonly perUser = new Map<string, number>();
  private sessions = 0;
  private forced = false;
  private eventLoopDelayMs = 0;
  private slowWindows = 0;
  private lastElu = performance.eventLoopUtilization();
  private storageLatencyMs = 0;
  private readonly histogram: IntervalHistogram | undefined;
  private readonly sampler: NodeJS.Timeout | undefined;

  constructor(options: Partial<GovernorOptions> = {}, private readonly metrics?: Metrics, now: Clock = () => performance.now(), sample = true) {
    this.options = { ...DEFAULT_GOVERNOR_OPTIONS, ...options };
    const o = this.options;
    this.codel = new CoDel(o.sojournTargetMs, o.sojournIntervalMs, now);
    this.queue = new AdmissionQueue(
      { concurrency: o.heavyConcurrency, maxQueued: o.maxQueued, maxPerUser: o.maxQueuedPerUser, deadlineMs: o.deadlineMs },
      (ms) => {
        this.codel.observe(ms);
        this.metrics?.sojourn.observe(ms / 1000);
      },
      now,
    );
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
    const elu = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(elu, this.lastElu).utilization;
    this.lastElu = elu;
    const slow = this.eventLoopDelayMs > this.options.eventLoopDelayLimitMs || busy > this.options.eventLoopUtilizationLimit;
    // Sustained, not a spike: one GC pause must not turn clients away (CoDel's idea, for the loop).
    this.slowWindows = slow ? this.slowWindows + 1 : 0;
    this.metrics?.eventLoopDelay.set(this.eventLoopDelayMs / 1000);
    this.metrics?.queueDepth.set(this.queue.depth);
  }

  /** Why the server counts as overloaded right now, or null. */
  overload(): OverloadReason | null {
    if (this.forced) return 'forced';
    if (this.codel.overloaded) return 'queue';
    if (this.slowWindows >= SLOW_WINDOWS) return 'event-loop';
    if (this.storageLatencyMs > this.options.storageLatencyLimitMs) return 'storage';
    return null;
  }

  /** Tests and chaos: refuse all new work as if overloaded. */
  forceShed(on: boolean): void {
    this.forced = on;
  }

  get forcedShed(): boolean {
    return this.forced;
  }

  /** Fed by the instrumented store with each operation's latency. */
  observeStorage(ms: number): void {
    this.storageLatencyMs = this.storageLatencyMs * 0.9 + ms * 0.1;
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
    this.perAddress.set(remoteAddress, fromAddr + 1);
    this.metrics?.sessions.inc({ protocol });
    this.metrics?.admitted.inc({ point: 'connect', protocol });
    return this.admitted(() => {
      this.sessions--;
      decrement(this.perAddress, remoteAddress);
      this.metrics?.sessions.dec({ protocol });
    });
  }

  admitLogin(protocol: Protocol, user: string, _remoteAddress: string): Admission {
    // Logins of sessions already admitted rank above new sessions: only a forced shed or an event
    // loop far past its limit refuses them.
    if (this.forced) return this.refuse('login', protocol, 'busy', 'forced', 'server busy, try again later');
    if (this.slowWindows >= SLOW_WINDOWS && this.eventLoopDelayMs > 2 * this.options.eventLoopDelayLimitMs) {
      return this.refuse('login', protocol, 'busy', 'event-loop', 'server busy, try again later');
    }
    const mine = this.perUser.get(user) ?? 0;
    if (mine >= this.options.maxSessionsPerUser) return this.refuse('login', protocol, 'limit', 'user', 'too many sessions for this account');
    this.perUser.set(user, mine + 1);
    this.metrics?.admitted.inc({ point: 'login', protocol });
    return this.admitted(() => decrement(this.perUser, user));
  }

  async heavy<T>(protocol: Protocol, user: string, command: string, work: () => Promise<T>): Promise<T> {
    if (this.forced) {
      this.metrics?.shed.inc({ point: 'command', protocol, reason: 'forced' });
      throw new OverloadedError('server busy, try again later');
    }
    const started = performance.now();
    try {
      const result = await this.queue.run(user, work);
      this.metrics?.command.observe({ protocol, command }, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      if (err instanceof OverloadedError) this.metrics?.shed.inc({ point: 'command', protocol, reason: 'queue' });
      throw err;
    }
  }

  /** May background work (the reclaimer) take a step now? Only when nothing waits and no overload. */
  background(): boolean {
    return this.overload() === null && this.queue.depth === 0;
  }

  stats(): GovernorStats {
    return {
      sessions: this.sessions,
      queued: this.queue.depth,
      running: this.queue.inFlight,
      overload: this.overload(),
      eventLoopDelayMs: this.eventLoopDelayMs,
      storageLatencyMs: this.storageLatencyMs,
    };
  }

  private admitted(release: () => void): Admission {
    let done = false;
    return {
      refused: false,
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
  }
}

function decrement(m: Map<string, number>, key: string): void {
  const n = (m.get(key) ?? 1) - 1;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}
