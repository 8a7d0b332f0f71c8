// The overload bench's load generator: sessions started open-loop at a fixed rate — each on its own
// schedule, whether or not earlier ones finished (arrivals do not wait for the server, as real
// clients' polls do not) — spread over worker threads so that one generator event loop does not set
// the pace at ten times a server's capacity. Each thread offers rate/threads and reports what it saw
// and how saturated it was itself.
import { setPriority } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { BenchUser } from './fixture-data.ts';
import { imapSync } from './imap-session.ts';
import { pop3Poll, type PollResult } from './pop3-session.ts';

export type Kind = 'pop3' | 'imap';
export interface Ports { pop3: number; imap: number }

export interface OpenLoopStep {
  ports: Ports;
  users: BenchUser[];
  /** Sessions per second, this thread's share. */
  rate: number;
  seconds: number;
  imapShare: number;
  timeoutMs: number;
  /** Open sessions a thread keeps at most (file descriptors are finite on both ends). */
  maxInflight: number;
  /** Where in the user list this thread starts, so threads spread over the accounts. */
  firstUser: number;
}

export interface SessionOutcome {
  kind: Kind;
  user: string;
  r: PollResult;
  /** When it ended, ms after the step started. */
  doneAtMs: number;
}

export interface ThreadReport {
  outcomes: SessionOutcome[];
  launched: number;
  /** Sessions not started because this thread had maxInflight open. */
  capped: number;
  /** This thread's event loop: p99 lateness (ms) and the share of the step it was busy. */
  lagP99Ms: number;
  utilization: number;
}

export const runSession = (kind: Kind, ports: Ports, u: BenchUser, timeoutMs: number): Promise<PollResult> =>
  kind === 'pop3'
    ? pop3Poll('127.0.0.1', ports.pop3, u.name, u.password, timeoutMs)
    : imapSync('127.0.0.1', ports.imap, u.name, u.password, timeoutMs);

/** One step in this thread: launches sessions on schedule for `seconds`, then waits for all to end. */
export async function offer(s: OpenLoopStep): Promise<ThreadReport> {
  const outcomes: SessionOutcome[] = [];
  const inflight = new Set<Promise<void>>();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const elu0 = performance.eventLoopUtilization();
  let capped = 0;
  let launched = 0;
  let k = s.firstUser;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= s.seconds) {
        clearInterval(tick);
        resolve();
        return;
      }
      const due = Math.floor(elapsed * s.rate) - launched;
      for (let i = 0; i < due; i++) {
        launched++;
        if (inflight.size >= s.maxInflight) {
          capped++;
          continue;
        }
        const kind: Kind = Math.random() < s.imapShare ? 'imap' : 'pop3';
        const u = s.users[k++ % s.users.length]!;
        const p = runSession(kind, s.ports, u, s.timeoutMs).then((r) => {
          outcomes.push({ kind, user: u.name, r, doneAtMs: performance.now() - t0 });
        });
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
    }, 5);
  });
  // utilization while offering; draining the tail afterwards is not the pace-setting part
  const utilization = performance.eventLoopUtilization(elu0).utilization;
  await Promise.all(inflight);
  lag.disable();
  return { outcomes, launched, capped, lagP99Ms: lag.percentile(99) / 1e6, utilization };
}

export interface GeneratorOptions {
  /**
   * A nice value for the threads (Linux applies it per thread). The overload bench's canary runs at
   * -10 so that a client whose own loop is never late measures the server, not the generator.
   */
  priority?: number;
}

/** Generator threads kept for a whole run; each step is offered by all of them at once. */
export class OpenLoopGenerator {
  private readonly workers: Worker[];

  constructor(threads: number, opts: GeneratorOptions = {}) {
    // The bench runs under tsx, whose loader a worker does not inherit (and on Node 20 `--import tsx`
    // in a worker's execArgv comes too late for its entry module): register it, then load this file.
    const tsx = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    this.workers = Array.from({ length: threads }, () => new Worker(boot, { eval: true, workerData: opts }));
    for (const w of this.workers) w.unref();
  }

  get threads(): number {
    return this.workers.length;
  }

  async offer(step: Omit<OpenLoopStep, 'rate' | 'firstUser'>, rate: number): Promise<ThreadReport[]> {
    const n = this.workers.length;
    return Promise.all(this.workers.map((w, i) => new Promise<ThreadReport>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      w.once('error', onError);
      w.once('message', (r: ThreadReport) => {
        w.off('error', onError);
        resolve(r);
      });
      w.postMessage({ ...step, rate: rate / n, firstUser: Math.floor((i * step.users.length) / n) } satisfies OpenLoopStep);
    })));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

if (!isMainThread) {
  const { priority } = workerData as GeneratorOptions;
  if (priority !== undefined) {
    try {
      setPriority(priority); // pid 0: on Linux, this thread only
    } catch {
      // not root: the thread runs at normal priority, and the canary's own lag (reported) shows it
    }
  }
  parentPort!.on('message', (s: OpenLoopStep) => {
    void offer(s).then((r) => parentPort!.postMessage(r));
  });
}
