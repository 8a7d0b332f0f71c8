// Overload: does the server say "try later" instead of lying or crawling?
//
// Mailboxes of N messages; "leave a copy" POP3 sessions (login, STAT, UIDL, QUIT) and IMAP sync
// sessions (LOGIN, SELECT, UID FETCH 1:* (UID FLAGS)) arrive open-loop at a stepped rate, from below
// the server's capacity to 10× it. Per step: offered and completed sessions/s, refusals by code,
// p50/p99 of completed sessions, auth p99, and mismatches — sessions that got a UIDL/UID list other
// than the reference one. Mismatches must be 0 at every step (the 2018 incident was exactly that).
//
// With --server-cpu 0.3 the server runs in a cgroup holding it to 0.3 of a core (bench/lib/cpu-quota.ts):
// on a 2-core machine the load generator then has the rest, so ten times the server's capacity can be
// offered without the generator setting the pace. --peer dovecot runs the same steps against a private
// Dovecot under the same quota, after tegami, and prints both side by side. A refusal costs the
// generator one connect and at most one line read.
//
// At ten times capacity the generator's own event loops run tens of ms late, and that lateness is in
// every latency they measure (twice in a login: the USER answer is read late, then the PASS answer).
// So a canary — one more generator thread at a raised priority (nice -10), offering --canary-rate
// of each step's sessions, never busy itself — measures logins as one user sees them; "auth p99
// (canary)" is the figure that says whether logins follow load (invariant 7). Its sessions are part
// of the offered load and of every other figure.
//
// At ten times capacity most canary sessions are refused too, so one step measures a few dozen
// logins, and a p99 of fewer than a hundred is their slowest. --repeats N runs the multipliers N
// times over, alternating (¼×, 10×, ¼×, 10×, …) so that drift on a shared machine reaches every
// multiplier alike, and the verdict pools each multiplier's canary logins over the repeats (a p99
// of hundreds of logins), with each repeat's own ratio and their median beside it.
//
// Under the quota a login's tail follows how much of the quota the server uses, whatever it does
// with it: in a period where the group has used its share, every thread waits for the next one (up
// to 7 ms of 10 at 0.3 CPU), and a GC pause lasts three times its CPU time. Each step says in how
// many periods the server was throttled (the cgroup's cpu.stat). With 1× among the multipliers the
// pooled verdict also compares the last step with 1×: what overload adds to a login beyond what a
// server working at its capacity already costs one.
//
//   npx tsx bench/overload.ts [--messages 5000] [--users 20] [--step-seconds 5] [--multipliers 0.25,0.5,1,2,5,10]
//                             [--server-cpu 0.3] [--cpu-period-ms 10] [--generator-threads 2] [--canary-rate 10]
//                             [--repeats 1] [--peer dovecot] [--profile]
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCpuQuota, DEFAULT_PERIOD_US, type CpuQuota, type Throttling } from './lib/cpu-quota.ts';
import { type BenchUser } from './lib/fixture-data.ts';
import { hotSpots } from './lib/cpu-profile.ts';
import { machineInfo } from './lib/machine.ts';
import { OpenLoopGenerator, runSession as run, type Ports } from './lib/open-loop.ts';
import type { PollResult } from './lib/pop3-session.ts';
import { RESULTS_DIR, writeResult } from './lib/results.ts';
import { latencySummary, median, round } from './lib/stats.ts';
import { lineChart } from './lib/svg-chart.ts';
import { startTarget, type Side, type Target } from './lib/targets.ts';

interface StepResult {
  multiplier: number;
  /** Which pass over the multipliers (1…repeats). */
  repeat: number;
  offeredPerSecond: number;
  /** Sessions that completed within the step's window, per second (the tail drained after it is not goodput). */
  completedPerSecond: number;
  refusedPerSecond: number;
  refusals: Record<string, number>;
  failures: Record<string, number>;
  latencyMs: { p50: number; p99: number };
  /** Client-observed: USER sent → PASS answered, so it includes both event loops' queueing. */
  authP99Ms: number;
  /** The canary's sessions alone: a client whose own loop is not late (see the top of this file). */
  /** `authMs`: each canary login's USER sent → PASS answered (LOGIN → OK for IMAP), for pooling over repeats. */
  canary: { sessions: number; completed: number; authP50Ms: number; authP99Ms: number; lagP99Ms: number; authMs: number[] };
  /** The server's own password-check latency (tegami_auth_seconds), p99 bucket bound. */
  serverAuthP99Ms: number;
  /** Accept → logged in as the server saw it (tegami_session_start_seconds), p99 bucket bound: no generator lag in it. */
  serverStartP99Ms: number;
  /** The server's GC pauses in the step (a pause at 0.3 CPU lasts three times its CPU time). */
  serverGc?: { minor: GcPauses; major: GcPauses };
  /**
   * With --server-cpu: the share of the quota's periods in which the server used all of its quota, and
   * how long its threads waited for a next period (summed over threads, s). A login that arrives in a
   * throttled period waits for the next one, however little it asks of the server.
   */
  throttled?: { periodsShare: number; waitSeconds: number };
  /** How late the load generator's own event loop ran (p99): when high, latencies are partly the client's. */
  clientLagP99Ms: number;
  /** CPU the server and the load generator used, in cores, over the step (2 cores in all here). */
  serverCores: number;
  generatorCores: number;
  /** Sessions not started because the generator already had MAX_INFLIGHT open (its own limit). */
  clientCapped: number;
  /**
   * The generator, not the server, set this step's pace: it used most of a core, its event loop ran
   * late, or it could not start sessions. On a machine it shares with the server, such a step says
   * as much about the generator as about the server.
   */
  generatorBound: boolean;
  mismatches: number;
  serverCpuMsPerSession: number;
}

const IMAP_SHARE = 0.2;
/** The canary thread's nice value (it is allowed only as root; otherwise it runs at 0 and says so in its lag). */
const CANARY_PRIORITY = -10;
/** A step counts as generator-bound when one of the generator's threads was busy this share of the step… */
const GENERATOR_BOUND_UTILIZATION = 0.9;
/** …or its event loop ran this late (p99, ms). */
const GENERATOR_BOUND_LAG_MS = 100;
/** Open sessions the generator keeps at most (file descriptors are finite on both ends). */
const MAX_INFLIGHT = 6000;

type Buckets = Map<number, number>;

interface Scrape { auth: Buckets; start: Buckets; gc: Map<string, { count: number; seconds: number }> }

/** Cumulative counts of the auth and session-start histograms' buckets, by upper bound; GC pauses by kind. */
async function scrape(metricsPort: number): Promise<Scrape> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return { auth: buckets(text, 'tegami_auth_seconds'), start: buckets(text, 'tegami_session_start_seconds'), gc: gcPauses(text) };
}

function gcPauses(text: string): Scrape['gc'] {
  const out: Scrape['gc'] = new Map();
  for (const m of text.matchAll(/^tegami_process_nodejs_gc_duration_seconds_(sum|count)\{kind="([^"]+)"\} ([\d.e+-]+)/gm)) {
    const v = out.get(m[2]!) ?? { count: 0, seconds: 0 };
    if (m[1] === 'sum') v.seconds = Number(m[3]);
    else v.count = Number(m[3]);
    out.set(m[2]!, v);
  }
  return out;
}

interface GcPauses { count: number; ms: number }

/** The server's GC pauses of one kind (minor: scavenges; major: mark-compact) between two scrapes. */
function gcBetween(before: Scrape, after: Scrape, kind: 'minor' | 'major'): GcPauses {
  const a = after.gc.get(kind) ?? { count: 0, seconds: 0 };
  const b = before.gc.get(kind) ?? { count: 0, seconds: 0 };
  return { count: a.count - b.count, ms: round((a.seconds - b.seconds) * 1000) };
}

function buckets(text: string, name: string): Buckets {
  const out: Buckets = new Map();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\d+)`, 'gm'))) {
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    out.set(le, (out.get(le) ?? 0) + Number(m[2]));
  }
  return out;
}

/** p99 of the observations between two scrapes, as the upper bound of the bucket that holds it (ms). */
function bucketP99(before: Map<number, number>, after: Map<number, number>): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return NaN;
  for (const le of les) if ((after.get(le)! - (before.get(le) ?? 0)) >= 0.99 * total) return le * 1000;
  return Infinity;
}
/** Temporary codes, and the kernel's "connection refused" while a server stops accepting. */
const TEMPORARY = /SYS\/TEMP|IN-USE|UNAVAILABLE|LIMIT|ECONNREFUSED/;

/**
 * A refusal: a temporary code, "connection refused", or a connection reset before the greeting —
 * what a client queued in the kernel's accept backlog gets when the listener closes.
 */
const isRefusal = (r: PollResult) => TEMPORARY.test(r.error!) || (r.error === 'ECONNRESET' && r.failedAt === 'greeting');


const CAPACITY_CLIENTS = 32;

/** Closed loop at modest concurrency: the server's capacity for this mix, sessions/s — and it must refuse none. */
async function measureCapacity(ports: Ports, users: BenchUser[], seconds: number): Promise<{ perSecond: number; refused: number }> {
  let done = 0;
  let refused = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: CAPACITY_CLIENTS }, async (_, c) => {
    for (let i = 0; performance.now() < end; i++) {
      const r = await run(Math.random() < IMAP_SHARE ? 'imap' : 'pop3', ports, users[(c + i) % users.length]!, 10_000);
      if (r.ok) done++;
      else if (isRefusal(r)) refused++;
    }
  }));
  return { perSecond: done / seconds, refused };
}

interface Generators {
  load: OpenLoopGenerator;
  canary: OpenLoopGenerator;
  /** Sessions/s the canary offers at most (never more than the step's whole rate). */
  canaryRate: number;
}

async function step(
  gen: Generators, ports: Ports, users: BenchUser[], reference: Map<string, string>, rate: number, seconds: number,
  cpuSeconds: () => number, multiplier: number, repeat: number, metricsPort: number | undefined,
  throttling: (() => Throttling | undefined) | undefined,
): Promise<StepResult> {
  const scrape0 = metricsPort === undefined ? undefined : await scrape(metricsPort);
  const cpu0 = cpuSeconds();
  const throttling0 = throttling?.();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const offer = { ports, users, seconds, imapShare: IMAP_SHARE, timeoutMs: 15_000 };
  const canaryRate = Math.min(gen.canaryRate, rate);
  const [threads, canaryThreads] = await Promise.all([
    gen.load.offer({ ...offer, maxInflight: MAX_INFLIGHT / gen.load.threads }, rate - canaryRate),
    gen.canary.offer({ ...offer, maxInflight: MAX_INFLIGHT }, canaryRate),
  ]);
  const scrape1 = metricsPort === undefined ? undefined : await scrape(metricsPort);
  const serverAuthP99Ms = scrape0 && scrape1 ? bucketP99(scrape0.auth, scrape1.auth) : NaN;
  const serverStartP99Ms = scrape0 && scrape1 ? bucketP99(scrape0.start, scrape1.start) : NaN;
  const serverGc = scrape0 && scrape1 ? { minor: gcBetween(scrape0, scrape1, 'minor'), major: gcBetween(scrape0, scrape1, 'major') } : undefined;
  const cpu = cpuSeconds() - cpu0;
  const throttling1 = throttling?.();
  const wall = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(own0);
  const canaryOutcomes = canaryThreads.flatMap((t) => t.outcomes);
  const results = [...threads.flatMap((t) => t.outcomes), ...canaryOutcomes];
  const launched = [...threads, ...canaryThreads].reduce((a, t) => a + t.launched, 0);
  const capped = threads.reduce((a, t) => a + t.capped, 0);
  const lagP99Ms = Math.max(...threads.map((t) => t.lagP99Ms));
  const busiest = Math.max(...threads.map((t) => t.utilization));
  const ok = results.filter((x) => x.r.ok);
  const refusals: Record<string, number> = {};
  const failures: Record<string, number> = {};
  for (const x of results) {
    if (x.r.ok) continue;
    const bucket = isRefusal(x.r) ? refusals : failures;
    bucket[`${x.kind} ${x.r.error}`] = (bucket[`${x.kind} ${x.r.error}`] ?? 0) + 1;
  }
  const mismatches = ok.filter((x) => x.r.uidlHash !== reference.get(`${x.kind}:${x.user}`)).length;
  const lat = latencySummary(ok.map((x) => x.r.ms));
  const authOf = (xs: typeof results) => latencySummary(xs.filter((x) => x.r.authMs !== undefined).map((x) => x.r.authMs!));
  const auth = authOf(results);
  const canaryAuth = authOf(canaryOutcomes);
  const refused = Object.values(refusals).reduce((a, b) => a + b, 0);
  return {
    multiplier,
    repeat,
    offeredPerSecond: round(launched / seconds, 1),
    completedPerSecond: round(ok.filter((x) => x.doneAtMs <= seconds * 1000).length / seconds, 1),
    refusedPerSecond: round(refused / seconds, 1),
    refusals,
    failures,
    latencyMs: { p50: round(lat.p50), p99: round(lat.p99) },
    authP99Ms: round(auth.p99),
    canary: {
      sessions: canaryOutcomes.length,
      completed: canaryOutcomes.filter((x) => x.r.ok).length,
      authP50Ms: round(canaryAuth.p50),
      authP99Ms: round(canaryAuth.p99),
      lagP99Ms: round(Math.max(...canaryThreads.map((t) => t.lagP99Ms))),
      authMs: canaryOutcomes.flatMap((x) => (x.r.authMs === undefined ? [] : [round(x.r.authMs, 3)])),
    },
    serverAuthP99Ms,
    serverStartP99Ms,
    serverGc,
    throttled: throttling0 && throttling1 ? {
      periodsShare: round((throttling1.throttled - throttling0.throttled) / Math.max(1, throttling1.periods - throttling0.periods), 2),
      waitSeconds: round(throttling1.throttledSeconds - throttling0.throttledSeconds, 2),
    } : undefined,
    clientLagP99Ms: round(lagP99Ms),
    clientCapped: capped,
    generatorBound: capped > 0 || busiest >= GENERATOR_BOUND_UTILIZATION || lagP99Ms > GENERATOR_BOUND_LAG_MS,
    mismatches,
    serverCpuMsPerSession: round((cpu * 1000) / Math.max(1, ok.length), 3),
    serverCores: round(cpu / wall, 2),
    generatorCores: round((own.user + own.system) / 1e6 / wall, 2),
  };
}

interface SideResult {
  side: Side;
  quota?: string;
  capacity: number;
  capacityRefused: number;
  steps: StepResult[];
  verdict: {
    goodputAtMaxVsPeak: number;
    authP99AtMaxVsFirst: number;
    canaryAuthP99AtMaxVsFirst: number;
    /** With repeats: the canary's logins pooled per multiplier over all repeats, and the repeats' own ratios. */
    canaryPooled?: CanaryPooled;
    serverAuthP99AtMaxVsFirst: number;
    serverStartP99AtMaxVsFirst: number;
    mismatches: number;
    generatorBoundSteps: number[];
  };
}

function printStep(side: Side, s: StepResult): void {
  console.log(
    `${side.padEnd(8)}${String(s.multiplier).padStart(5)}× offered ${String(s.offeredPerSecond).padStart(7)}/s  completed ${String(s.completedPerSecond).padStart(7)}/s  ` +
      `refused ${String(s.refusedPerSecond).padStart(7)}/s  p50 ${s.latencyMs.p50} ms  p99 ${s.latencyMs.p99} ms  auth p99 ${s.authP99Ms} ms` +
      ` (canary: ${s.canary.completed} of ${s.canary.sessions} sessions, auth p50 ${s.canary.authP50Ms} p99 ${s.canary.authP99Ms} ms, its lag p99 ${s.canary.lagP99Ms} ms)` +
      `${Number.isNaN(s.serverAuthP99Ms) ? '' : ` (server: password ≤${s.serverAuthP99Ms} ms, accept→logged in ≤${s.serverStartP99Ms} ms)`}  ` +
      `${s.serverGc ? `server GC pauses: minor ${s.serverGc.minor.count}× ${s.serverGc.minor.ms} ms, major ${s.serverGc.major.count}× ${s.serverGc.major.ms} ms  ` : ''}` +
      `${s.throttled ? `server throttled in ${Math.round(s.throttled.periodsShare * 100)}% of periods (threads waited ${s.throttled.waitSeconds} s)  ` : ''}` +
      `cores: server ${s.serverCores}, generator ${s.generatorCores}  client lag p99 ${s.clientLagP99Ms} ms${s.clientCapped ? `  not started (generator at ${MAX_INFLIGHT} open) ${s.clientCapped}` : ''}  ` +
      `mismatches ${s.mismatches}  ${JSON.stringify({ ...s.refusals, ...s.failures })}${s.generatorBound ? '  [generator-bound]' : ''}`,
  );
}

interface Options {
  messages: string;
  users: string;
  'step-seconds': string;
  multipliers: string;
  'server-cpu'?: string;
  'cpu-period-ms': string;
  'generator-threads': string;
  'canary-rate': string;
  repeats: string;
}

async function runSide(side: Side, values: Options, profileDir: string | undefined): Promise<SideResult> {
  const target: Target = await startTarget(side, { users: Number(values.users), messages: Number(values.messages) }, { metrics: true, profileDir });
  let quota: CpuQuota | undefined;
  const gen: Generators = {
    load: new OpenLoopGenerator(Number(values['generator-threads'])),
    canary: new OpenLoopGenerator(1, { priority: CANARY_PRIORITY }),
    canaryRate: Number(values['canary-rate']),
  };
  try {
    if (values['server-cpu']) {
      quota = createCpuQuota(`tegami-bench-${side}-${process.pid}`, Number(values['server-cpu']), Number(values['cpu-period-ms']) * 1000);
      quota.add(target.pids());
      console.log(`${side}: confined to ${values['server-cpu']} CPU (${quota.describe})`);
    }
    const cpuSeconds = quota ? () => quota!.usageSeconds() : () => target.cpuSeconds();
    const ports = target.ports;
    const users = target.users;
    // Reference lists, taken while the server is calm.
    const reference = new Map<string, string>();
    for (const u of users) {
      for (const kind of ['pop3', 'imap'] as const) {
        const r = await run(kind, ports, u, 60_000);
        if (!r.ok) throw new Error(`${side}: reference ${kind} session for ${u.name} failed: ${r.error}`);
        reference.set(`${kind}:${u.name}`, r.uidlHash!);
      }
    }
    const seconds = Number(values['step-seconds']);
    const capacity = await measureCapacity(ports, users, seconds);
    console.log(`${side}: capacity (closed loop, ${CAPACITY_CLIENTS} clients): ${round(capacity.perSecond, 1)} sessions/s, ${capacity.refused} refused; mailbox ${values.messages} messages × ${users.length} users`);
    const steps: StepResult[] = [];
    const multipliers = values.multipliers.split(',').map(Number);
    const repeats = Number(values.repeats);
    for (let r = 1; r <= repeats; r++) {
      for (const m of multipliers) {
        const s = await step(gen, ports, users, reference, capacity.perSecond * m, seconds, cpuSeconds, m, r, target.metricsPort, quota && (() => quota!.throttling()));
        steps.push(s);
        printStep(side, s);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    const peak = Math.max(...steps.map((s) => s.completedPerSecond));
    // the last pass's first and last steps
    const last = steps[steps.length - 1]!;
    const first = steps[steps.length - multipliers.length]!;
    return {
      side,
      quota: quota?.describe,
      capacity: capacity.perSecond,
      capacityRefused: capacity.refused,
      steps,
      verdict: {
        goodputAtMaxVsPeak: round(last.completedPerSecond / peak, 2),
        authP99AtMaxVsFirst: round(last.authP99Ms / Math.max(0.001, first.authP99Ms), 2),
        canaryAuthP99AtMaxVsFirst: round(last.canary.authP99Ms / Math.max(0.001, first.canary.authP99Ms), 2),
        serverAuthP99AtMaxVsFirst: round(last.serverAuthP99Ms / Math.max(0.001, first.serverAuthP99Ms), 2),
        serverStartP99AtMaxVsFirst: round(last.serverStartP99Ms / Math.max(0.001, first.serverStartP99Ms), 2),
        mismatches: steps.reduce((a, s) => a + s.mismatches, 0),
        generatorBoundSteps: steps.filter((s) => s.generatorBound).map((s) => s.multiplier),
        canaryPooled: repeats > 1 ? pooledCanary(steps, repeats, multipliers) : undefined,
      },
    };
  } finally {
    await gen.load.close();
    await gen.canary.close();
    await target.stop();
    quota?.remove();
  }
}

interface CanaryPooled {
  /** Each multiplier's canary logins over all repeats, in the order of --multipliers. */
  byMultiplier: { multiplier: number; logins: number; p99Ms: number }[];
  first: { logins: number; p99Ms: number };
  last: { logins: number; p99Ms: number };
  /** Pooled p99 at the last multiplier over pooled p99 at the first. */
  ratio: number;
  /**
   * Pooled p99 at the last multiplier over pooled p99 at 1×, when 1× was run: what overload adds to a
   * login beyond what a server working at its capacity already costs one (throttling under the quota,
   * GC pauses, full loop turns — `throttled` in each step).
   */
  ratioToCapacity?: number;
  repeatRatios: number[];
  medianRepeatRatio: number;
}

/** The canary's logins pooled per multiplier over the repeats (see the top of this file). */
function pooledCanary(steps: readonly StepResult[], repeats: number, multipliers: readonly number[]): CanaryPooled {
  const byMultiplier = multipliers.map((m) => {
    const auth = latencySummary(steps.filter((s) => s.multiplier === m).flatMap((s) => s.canary.authMs));
    return { multiplier: m, logins: auth.n, p99Ms: round(auth.p99) };
  });
  const firstM = multipliers[0]!;
  const lastM = multipliers[multipliers.length - 1]!;
  const { logins: firstLogins, p99Ms: firstP99 } = byMultiplier[0]!;
  const { logins: lastLogins, p99Ms: lastP99 } = byMultiplier[byMultiplier.length - 1]!;
  const atCapacity = byMultiplier.find((b) => b.multiplier === 1);
  const repeatRatios = Array.from({ length: repeats }, (_, i) => {
    const at = (m: number) => steps.find((s) => s.repeat === i + 1 && s.multiplier === m)!.canary.authP99Ms;
    return round(at(lastM) / Math.max(0.001, at(firstM)), 2);
  });
  return {
    byMultiplier,
    first: { logins: firstLogins, p99Ms: firstP99 },
    last: { logins: lastLogins, p99Ms: lastP99 },
    ratio: round(lastP99 / Math.max(0.001, firstP99), 2),
    ratioToCapacity: atCapacity && lastM !== 1 ? round(lastP99 / Math.max(0.001, atCapacity.p99Ms), 2) : undefined,
    repeatRatios,
    medianRepeatRatio: round(median(repeatRatios), 2),
  };
}

/** Both servers, one row per step: what a reader compares. */
function sideBySide(results: SideResult[]): string {
  const head = ['step', ...results.flatMap((r) => [`${r.side} goodput/s`, 'refused/s', 'p99 ms', 'auth p99 ms', 'canary auth p99', 'start p99 (server)', 'throttled', 'mismatch'])];
  const repeated = results[0]!.steps.some((s) => s.repeat > 1);
  const rows = results[0]!.steps.map((_, i) => [
    `${results[0]!.steps[i]!.multiplier}×${repeated ? ` #${results[0]!.steps[i]!.repeat}` : ''}`,
    ...results.flatMap((r) => {
      const s = r.steps[i]!;
      return [
        `${s.completedPerSecond} of ${s.offeredPerSecond}`, String(s.refusedPerSecond), String(s.latencyMs.p99), String(s.authP99Ms), String(s.canary.authP99Ms),
        Number.isNaN(s.serverStartP99Ms) ? '–' : `≤${s.serverStartP99Ms}`, s.throttled ? `${Math.round(s.throttled.periodsShare * 100)}%` : '–', `${s.mismatches}${s.generatorBound ? ' [generator-bound]' : ''}`,
      ];
    }),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  return [head, ...rows].map((r) => r.map((x, c) => x.padEnd(widths[c]!)).join('  ')).join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '5000' },
      users: { type: 'string', default: '20' },
      'step-seconds': { type: 'string', default: '5' },
      multipliers: { type: 'string', default: '0.25,0.5,1,2,5,10' },
      'server-cpu': { type: 'string' },
      'cpu-period-ms': { type: 'string', default: String(DEFAULT_PERIOD_US / 1000) },
      'generator-threads': { type: 'string', default: '2' },
      'canary-rate': { type: 'string', default: '10' },
      repeats: { type: 'string', default: '1' },
      peer: { type: 'string' },
      profile: { type: 'boolean', default: false },
    },
  });
  if (!/^[1-9]\d*$/.test(values.repeats)) throw new Error(`--repeats: a whole number of passes (1 or more), got ${values.repeats}`);
  if (values.peer !== undefined && values.peer !== 'dovecot') throw new Error(`--peer: only dovecot is known, got ${values.peer}`);
  const machine = machineInfo();
  const profileDir = values.profile ? join(RESULTS_DIR, `profile-overload-${new Date().toISOString().replace(/[:.]/g, '-')}`) : undefined;
  const sides: Side[] = values.peer ? ['tegami', 'dovecot'] : ['tegami'];
  const results: SideResult[] = [];
  for (const side of sides) results.push(await runSide(side, values as Options, side === 'tegami' ? profileDir : undefined));
  console.log(`\n${sideBySide(results)}\n`);
  for (const r of results) {
    const v = r.verdict;
    const last = r.steps[r.steps.length - 1]!.multiplier;
    console.log(`${r.side}: goodput at ${last}× = ${v.goodputAtMaxVsPeak} of peak (target ≥ 0.8); auth p99 at ${last}× = ${v.canaryAuthP99AtMaxVsFirst}× its ${r.steps[0]!.multiplier}× value as the canary saw it, ${v.authP99AtMaxVsFirst}× as all sessions saw it` +
      `${Number.isNaN(v.serverAuthP99AtMaxVsFirst) ? '' : `, in the server: password check ${v.serverAuthP99AtMaxVsFirst}×, accept→logged in ${v.serverStartP99AtMaxVsFirst}×`} (target ≤ 3); mismatches ${v.mismatches} (must be 0); closed-loop capacity run refused ${r.capacityRefused}` +
      `${v.generatorBoundSteps.length ? `; generator-bound steps: ${v.generatorBoundSteps.map((m) => `${m}×`).join(', ')}` : ''}`);
    const p = v.canaryPooled;
    if (p) {
      console.log(`${r.side}: canary auth p99 pooled over the repeats: ${p.byMultiplier.map((b) => `${b.multiplier}× ${b.p99Ms} ms (${b.logins} logins)`).join(', ')}; ` +
        `${last}× = ${p.ratio}× the ${r.steps[0]!.multiplier}× value (target ≤ 3)${p.ratioToCapacity === undefined ? '' : `, ${p.ratioToCapacity}× the 1× value`}; ` +
        `each repeat's own ${last}×/${r.steps[0]!.multiplier}× ratio: ${p.repeatRatios.join(', ')} (median ${p.medianRepeatRatio})`);
    }
  }
  const loadavgAfter = machineInfo().loadavg;
  console.log(`machine: ${machine.cpus} × ${machine.cpuModel}; load average before ${machine.loadavg.join(' ')}, after ${loadavgAfter.join(' ')}`);
  const file = writeResult('overload', { bench: 'overload', machine, loadavgAfter, params: values, results });
  const colors = { tegami: ['#1f77b4', '#ff7f0e', '#d62728'], dovecot: ['#2ca02c', '#9467bd', '#8c564b'] } as const;
  const svg = lineChart({
    title: `overload: POP3 + IMAP sessions${values['server-cpu'] ? `, server held to ${values['server-cpu']} CPU` : ''}`,
    xLabel: 'offered load, sessions/s',
    leftLabel: 'sessions/s',
    rightLabel: 'p99 latency, ms',
    logX: true,
    series: results.flatMap((r) => [
      { name: `${r.side} goodput`, color: colors[r.side][0], axis: 'left' as const, points: r.steps.map((s) => [s.offeredPerSecond, s.completedPerSecond] as [number, number]) },
      { name: `${r.side} refused`, color: colors[r.side][1], axis: 'left' as const, points: r.steps.map((s) => [s.offeredPerSecond, s.refusedPerSecond] as [number, number]) },
      { name: `${r.side} p99`, color: colors[r.side][2], axis: 'right' as const, points: r.steps.map((s) => [s.offeredPerSecond, s.latencyMs.p99] as [number, number]) },
    ]),
  });
  const chart = file.replace(/\.json$/, '.svg');
  writeFileSync(chart, svg);
  console.log(`result: ${file}\nchart: ${chart}`);
  if (results.some((r) => r.verdict.mismatches > 0)) process.exitCode = 1;
  if (profileDir) {
    console.log(`where the server spent its CPU (self time; profile in ${profileDir}):`);
    for (const f of readdirSync(profileDir)) for (const h of hotSpots(join(profileDir, f), 25)) console.log(`  ${String(h.share).padStart(5)}%  ${h.fn}  ${h.where}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
