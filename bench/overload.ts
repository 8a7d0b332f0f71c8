// Overload: does the server say "try later" instead of lying or crawling?
//
// Mailboxes of N messages; "leave a copy" POP3 sessions (login, STAT, UIDL, QUIT) and IMAP sync
// sessions (LOGIN, SELECT, UID FETCH 1:* (UID FLAGS)) arrive open-loop at a stepped rate, from below
// the server's capacity to 10× it. Per step: offered and completed sessions/s, refusals by code,
// p50/p99 of completed sessions, auth p99, and mismatches — sessions that got a UIDL/UID list other
// than the reference one. Mismatches must be 0 at every step (the 2018 incident was exactly that).
//
//   npx tsx bench/overload.ts [--messages 5000] [--users 20] [--step-seconds 5] [--multipliers 0.25,0.5,1,2,5,10] [--profile]
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startServerProcess } from '../test/helpers/server-process.ts';
import { preparePopulatedDataDir, type BenchUser } from './lib/fixture-data.ts';
import { imapSync } from './lib/imap-session.ts';
import { hotSpots } from './lib/cpu-profile.ts';
import { machineInfo, processCpuSeconds } from './lib/machine.ts';
import { pop3Poll, type PollResult } from './lib/pop3-session.ts';
import { RESULTS_DIR, writeResult } from './lib/results.ts';
import { latencySummary, round } from './lib/stats.ts';
import { lineChart } from './lib/svg-chart.ts';

interface StepResult {
  multiplier: number;
  offeredPerSecond: number;
  completedPerSecond: number;
  refusedPerSecond: number;
  refusals: Record<string, number>;
  failures: Record<string, number>;
  latencyMs: { p50: number; p99: number };
  /** Client-observed: USER sent → PASS answered, so it includes both event loops' queueing. */
  authP99Ms: number;
  /** The server's own password-check latency (tegami_auth_seconds), p99 bucket bound. */
  serverAuthP99Ms: number;
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
/** A step counts as generator-bound when the generator used this much of a core… */
const GENERATOR_BOUND_CORES = 0.9;
/** …or its event loop ran this late (p99, ms). */
const GENERATOR_BOUND_LAG_MS = 100;
/** Open sessions the generator keeps at most (file descriptors are finite on both ends). */
const MAX_INFLIGHT = 6000;

/** Cumulative counts of a Prometheus histogram's buckets, by upper bound. */
async function authBuckets(metricsPort: number): Promise<Map<number, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^tegami_auth_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+)/gm)) {
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
const TEMPORARY = /SYS\/TEMP|IN-USE|UNAVAILABLE|LIMIT/;

type Kind = 'pop3' | 'imap';
const run = (kind: Kind, ports: { pop3: number; imap: number }, u: BenchUser, timeoutMs: number) =>
  kind === 'pop3'
    ? pop3Poll('127.0.0.1', ports.pop3, u.name, u.password, timeoutMs)
    : imapSync('127.0.0.1', ports.imap, u.name, u.password, timeoutMs);

/** Closed loop at modest concurrency: the server's capacity for this mix, sessions/s. */
async function measureCapacity(ports: { pop3: number; imap: number }, users: BenchUser[], seconds: number): Promise<number> {
  let done = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: 32 }, async (_, c) => {
    for (let i = 0; performance.now() < end; i++) {
      const r = await run(Math.random() < IMAP_SHARE ? 'imap' : 'pop3', ports, users[(c + i) % users.length]!, 10_000);
      if (r.ok) done++;
    }
  }));
  return done / seconds;
}

async function step(
  ports: { pop3: number; imap: number }, users: BenchUser[], reference: Map<string, string>, rate: number, seconds: number,
  pid: number, multiplier: number, metricsPort: number,
): Promise<StepResult> {
  const results: { kind: Kind; user: string; r: PollResult }[] = [];
  const inflight = new Set<Promise<void>>();
  const auth0 = await authBuckets(metricsPort);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  let capped = 0;
  const cpu0 = processCpuSeconds(pid);
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  let launched = 0;
  let k = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= seconds) {
        clearInterval(tick);
        resolve();
        return;
      }
      const due = Math.floor(elapsed * rate) - launched;
      for (let i = 0; i < due; i++) {
        launched++;
        if (inflight.size >= MAX_INFLIGHT) {
          capped++;
          continue;
        }
        const kind: Kind = Math.random() < IMAP_SHARE ? 'imap' : 'pop3';
        const u = users[k++ % users.length]!;
        const p = run(kind, ports, u, 15_000).then((r) => {
          results.push({ kind, user: u.name, r });
        });
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
    }, 5);
  });
  await Promise.all(inflight);
  lag.disable();
  const serverAuthP99Ms = bucketP99(auth0, await authBuckets(metricsPort));
  const cpu = processCpuSeconds(pid) - cpu0;
  const wall = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(own0);
  const ok = results.filter((x) => x.r.ok);
  const refusals: Record<string, number> = {};
  const failures: Record<string, number> = {};
  for (const x of results) {
    if (x.r.ok) continue;
    const bucket = TEMPORARY.test(x.r.error!) ? refusals : failures;
    bucket[`${x.kind} ${x.r.error}`] = (bucket[`${x.kind} ${x.r.error}`] ?? 0) + 1;
  }
  const mismatches = ok.filter((x) => x.r.uidlHash !== reference.get(`${x.kind}:${x.user}`)).length;
  const lat = latencySummary(ok.map((x) => x.r.ms));
  const auth = latencySummary(results.filter((x) => x.r.authMs !== undefined).map((x) => x.r.authMs!));
  const refused = Object.values(refusals).reduce((a, b) => a + b, 0);
  return {
    multiplier,
    offeredPerSecond: round(launched / seconds, 1),
    completedPerSecond: round(ok.length / seconds, 1),
    refusedPerSecond: round(refused / seconds, 1),
    refusals,
    failures,
    latencyMs: { p50: round(lat.p50), p99: round(lat.p99) },
    authP99Ms: round(auth.p99),
    serverAuthP99Ms,
    clientLagP99Ms: round(lag.percentile(99) / 1e6),
    clientCapped: capped,
    generatorBound: capped > 0 || (own.user + own.system) / 1e6 / wall >= GENERATOR_BOUND_CORES || lag.percentile(99) / 1e6 > GENERATOR_BOUND_LAG_MS,
    mismatches,
    serverCpuMsPerSession: round((cpu * 1000) / Math.max(1, ok.length), 3),
    serverCores: round(cpu / wall, 2),
    generatorCores: round((own.user + own.system) / 1e6 / wall, 2),
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '5000' },
      users: { type: 'string', default: '20' },
      'step-seconds': { type: 'string', default: '5' },
      multipliers: { type: 'string', default: '0.25,0.5,1,2,5,10' },
      profile: { type: 'boolean', default: false },
    },
  });
  const machine = machineInfo();
  const { dataDir, users } = await preparePopulatedDataDir({ users: Number(values.users), messages: Number(values.messages) });
  const profileDir = values.profile ? join(RESULTS_DIR, `profile-overload-${new Date().toISOString().replace(/[:.]/g, '-')}`) : undefined;
  const server = await startServerProcess(['--data', dataDir, '--log-level', 'error', '--metrics-port', '0'], 20_000, {
    nodeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  });
  try {
    const ports = server.ports;
    // Reference lists, taken while the server is calm.
    const reference = new Map<string, string>();
    for (const u of users) {
      for (const kind of ['pop3', 'imap'] as const) {
        const r = await run(kind, ports, u, 30_000);
        if (!r.ok) throw new Error(`reference ${kind} session for ${u.name} failed: ${r.error}`);
        reference.set(`${kind}:${u.name}`, r.uidlHash!);
      }
    }
    const capacity = await measureCapacity(ports, users, Number(values['step-seconds']));
    console.log(`capacity (closed loop, 32 clients): ${round(capacity, 1)} sessions/s; mailbox ${values.messages} messages × ${users.length} users`);
    const steps: StepResult[] = [];
    for (const m of values.multipliers!.split(',').map(Number)) {
      const s = await step(ports, users, reference, capacity * m, Number(values['step-seconds']), server.child.pid!, m, ports.metrics!);
      steps.push(s);
      console.log(
        `${String(m).padStart(5)}× offered ${String(s.offeredPerSecond).padStart(7)}/s  completed ${String(s.completedPerSecond).padStart(7)}/s  ` +
          `refused ${String(s.refusedPerSecond).padStart(7)}/s  p50 ${s.latencyMs.p50} ms  p99 ${s.latencyMs.p99} ms  auth p99 ${s.authP99Ms} ms (server ≤${s.serverAuthP99Ms} ms)  ` +
          `cores: server ${s.serverCores}, generator ${s.generatorCores}  client lag p99 ${s.clientLagP99Ms} ms${s.clientCapped ? `  not started (generator at ${MAX_INFLIGHT} open) ${s.clientCapped}` : ''}  ` +
          `mismatches ${s.mismatches}  ${JSON.stringify({ ...s.refusals, ...s.failures })}${s.generatorBound ? '  [generator-bound]' : ''}`,
      );
      await new Promise((r) => setTimeout(r, 1000));
    }
    const peak = Math.max(...steps.map((s) => s.completedPerSecond));
    const last = steps[steps.length - 1]!;
    const idleAuth = steps[0]!.authP99Ms;
    const verdict = {
      goodputAtMaxVsPeak: round(last.completedPerSecond / peak, 2),
      authP99AtMaxVsIdle: round(last.authP99Ms / Math.max(0.001, idleAuth), 2),
      serverAuthP99AtMaxVsIdle: round(last.serverAuthP99Ms / Math.max(0.001, steps[0]!.serverAuthP99Ms), 2),
      mismatches: steps.reduce((a, s) => a + s.mismatches, 0),
      generatorBoundSteps: steps.filter((s) => s.generatorBound).map((s) => s.multiplier),
    };
    console.log(`goodput at ${last.multiplier}× = ${verdict.goodputAtMaxVsPeak} of peak (target ≥ 0.8); auth p99 at ${last.multiplier}× = ${verdict.serverAuthP99AtMaxVsIdle}× idle in the server, ${verdict.authP99AtMaxVsIdle}× as the client saw it (target ≤ 3); mismatches ${verdict.mismatches} (must be 0)`);
    if (verdict.generatorBoundSteps.length) {
      console.log(`generator-bound steps: ${verdict.generatorBoundSteps.map((m) => `${m}×`).join(', ')} — the load generator, not the server, set their pace (it needs its own cores to offer more)`);
    }
    const file = writeResult('overload', { bench: 'overload', machine, loadavgAfter: machineInfo().loadavg, params: values, capacity, steps, verdict });
    const svg = lineChart({
      title: 'tegami under overload (POP3 + IMAP sessions)',
      xLabel: 'offered load, sessions/s',
      leftLabel: 'sessions/s',
      rightLabel: 'p99 latency, ms',
      logX: true,
      series: [
        { name: 'goodput', color: '#1f77b4', axis: 'left', points: steps.map((s) => [s.offeredPerSecond, s.completedPerSecond]) },
        { name: 'refused (try later)', color: '#ff7f0e', axis: 'left', points: steps.map((s) => [s.offeredPerSecond, s.refusedPerSecond]) },
        { name: 'p99 completed', color: '#d62728', axis: 'right', points: steps.map((s) => [s.offeredPerSecond, s.latencyMs.p99]) },
      ],
    });
    const chart = file.replace(/\.json$/, '.svg');
    writeFileSync(chart, svg);
    console.log(`result: ${file}\nchart: ${chart}`);
    if (verdict.mismatches > 0) process.exitCode = 1;
  } finally {
    await server.stop();
  }
  if (profileDir) {
    console.log(`where the server spent its CPU (self time; profile in ${profileDir}):`);
    for (const f of readdirSync(profileDir)) for (const h of hotSpots(join(profileDir, f), 25)) console.log(`  ${String(h.share).padStart(5)}%  ${h.fn}  ${h.where}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
