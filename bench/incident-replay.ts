// Incident replay: the July 2018 week on one machine. 200 ordinary accounts with "leave a copy" POP3
// clients polling (connect, USER/PASS, STAT, UIDL, QUIT), a steady LMTP delivery stream to them, and
// one heavy account that, at the start of the incident phase, deletes all but 100 of its H messages
// through IMAP (UID STORE +FLAGS.SILENT (\Deleted) + UID EXPUNGE, 5,000 UIDs at a time) while the
// reclaimer drains the resulting backlog under the polling.
//
// Phases, alternated so machine noise hits both sides: calm (data dir without the heavy account),
// incident (an identical copy of that data dir plus the heavy account), calm again (the first dir,
// restarted). The incident phase lasts at least --seconds and until the deletion is done and the
// reclaim backlog is back to 0 (at most --max-incident-seconds).
//
// Reported: sessions/s, p50/p99 session latency and auth p99 of the ordinary accounts, auth
// failures (must be 0), UIDL mismatches (must be 0), refusals by response code, and the ratio
// p99 incident / p99 calm (target ≤ 1.2). A mismatch is a session whose UIDL list does not extend
// the previous list seen for that account (ordinary accounts never delete, so every list must have
// the previous one as a prefix — across server restarts too), whose numbers are not 1..n in order,
// or whose length differs from STAT. Sampled every second: p99 of the sessions that ended in it,
// reclaim backlog and shed count from /metrics. JSON + SVG under bench/results/.
//
//   npx tsx bench/incident-replay.ts [--heavy 100000] [--users 200] [--ordinary-messages 50]
//     [--clients 50] [--poll-every-ms 100] [--deliveries 20] [--seconds 30] [--max-incident-seconds 300] [--keep 100] [--batch 5000]
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { startServerProcess, type ServerProcess } from '../test/helpers/server-process.ts';
import { benchUsers, cachedMbox, populate, type BenchUser } from './lib/fixture-data.ts';
import { RawImap } from './lib/imap-raw.ts';
import { pop3Poll, type PollResult } from './lib/pop3-session.ts';
import { machineInfo, processCpuSeconds } from './lib/machine.ts';
import { writeResult } from './lib/results.ts';
import { latencySummary, percentile, round } from './lib/stats.ts';
import { lineChart } from './lib/svg-chart.ts';

interface Params {
  heavy: number;
  users: number;
  ordinaryMessages: number;
  clients: number;
  /** Each client starts a session about this often (0 = back to back, a saturated server). */
  pollEveryMs: number;
  deliveries: number;
  seconds: number;
  maxIncidentSeconds: number;
  keep: number;
  batch: number;
}

const HEAVY: BenchUser = { name: 'heavy', password: 'heavypass' };
const TEMPORARY = /SYS\/TEMP|IN-USE|UNAVAILABLE|LIMIT/;

// ---------------------------------------------------------------------------------------------------
// Data directories

async function buildDataDirs(p: Params): Promise<{ calmDir: string; incidentDir: string; users: BenchUser[]; buildSeconds: number }> {
  const t0 = performance.now();
  const calmDir = mkdtempSync(join(tmpdir(), 'tegami-bench-incident-calm-'));
  const users = benchUsers(p.users);
  await populate(calmDir, users, await cachedMbox({ messages: p.ordinaryMessages, profile: 'small' }));
  // The incident dir is the calm dir byte for byte, plus the heavy account.
  const incidentDir = mkdtempSync(join(tmpdir(), 'tegami-bench-incident-heavy-'));
  cpSync(calmDir, incidentDir, { recursive: true });
  await populate(incidentDir, [HEAVY], await cachedMbox({ messages: p.heavy, profile: 'small' }));
  return { calmDir, incidentDir, users, buildSeconds: (performance.now() - t0) / 1000 };
}

// ---------------------------------------------------------------------------------------------------
// A POP3 "leave a copy" poll that keeps the UIDL lines, to check each against the last

type Poll = PollResult;

const pollWithUidl = (port: number, u: BenchUser): Promise<Poll> => pop3Poll('127.0.0.1', port, u.name, u.password, 30_000, true);

/**
 * Checks a session's UIDL list against the last one seen for the account: numbers 1..n in order,
 * as many as STAT said, and the previous list as a prefix (ordinary accounts never delete).
 * Returns a reason, or undefined when the list is consistent.
 */
function checkList(last: Map<string, string[]>, user: string, r: Poll): string | undefined {
  const list = r.uidl!;
  let reason: string | undefined;
  if (list.length !== r.messages) reason = `STAT ${r.messages} but UIDL has ${list.length} lines`;
  for (let i = 0; !reason && i < list.length; i++) {
    if (!list[i]!.startsWith(`${i + 1} `)) reason = `line ${i + 1} is "${list[i]}"`;
  }
  if (!reason && new Set(list.map((l) => l.slice(l.indexOf(' ') + 1))).size !== list.length) reason = 'duplicate unique ids';
  const prev = last.get(user);
  if (!reason && prev) {
    if (list.length < prev.length) reason = `list shrank from ${prev.length} to ${list.length}`;
    else for (let i = 0; !reason && i < prev.length; i++) if (prev[i] !== list[i]) reason = `line ${i + 1} was "${prev[i]}", now "${list[i]}"`;
  }
  last.set(user, list);
  return reason;
}

// ---------------------------------------------------------------------------------------------------
// Metrics

interface Scrape {
  backlog: number;
  reclaimed: number;
  shed: number;
  /** Shed counts by the governor's reason (event-loop, storage, queue, forced). */
  shedBy: Record<string, number>;
}

async function scrape(port: number): Promise<Scrape | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const one = (name: string) => {
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : NaN;
    };
    let shed = 0;
    const shedBy: Record<string, number> = {};
    for (const m of text.matchAll(/^tegami_shed_total\{([^}]*)\} (\S+)$/gm)) {
      const reason = /reason="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
      shed += Number(m[2]);
      shedBy[reason] = (shedBy[reason] ?? 0) + Number(m[2]);
    }
    return { backlog: one('tegami_reclaim_backlog_bodies'), reclaimed: one('tegami_reclaimed_bodies'), shed, shedBy };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// The heavy account's mass deletion, through IMAP

interface DeletionResult {
  deleted: number;
  batches: number;
  retries: number;
  seconds: number;
  batchMs: ReturnType<typeof latencySummary>;
  error?: string;
}

async function massDelete(port: number, p: Params): Promise<DeletionResult> {
  const t0 = performance.now();
  const last = p.heavy - p.keep; // imported UIDs are 1..H
  const batchMs: number[] = [];
  let retries = 0;
  let deleted = 0;
  let c: RawImap | undefined;
  try {
    c = await RawImap.connect(port, HEAVY.name, HEAVY.password);
    const sel = await c.command('SELECT INBOX');
    if (!/ OK /.test(sel.tail)) throw new Error(`SELECT: ${sel.tail}`);
    for (let lo = 1; lo <= last; ) {
      const hi = Math.min(last, lo + p.batch - 1);
      const tb = performance.now();
      const st = await c.command(`UID STORE ${lo}:${hi} +FLAGS.SILENT (\\Deleted)`);
      const ex = / OK /.test(st.tail) ? await c.command(`UID EXPUNGE ${lo}:${hi}`) : st;
      if (!/ OK /.test(ex.tail)) {
        // A refusal ("try later") is retried the way a client would; anything else ends the run.
        if (!/UNAVAILABLE|LIMIT/.test(ex.tail) || ++retries > 100) throw new Error(`batch ${lo}:${hi}: ${ex.tail}`);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      batchMs.push(performance.now() - tb);
      deleted += hi - lo + 1;
      lo = hi + 1;
    }
    await c.command('LOGOUT').catch(() => undefined);
    return { deleted, batches: batchMs.length, retries, seconds: (performance.now() - t0) / 1000, batchMs: mapRound(latencySummary(batchMs)) };
  } catch (err) {
    return {
      deleted, batches: batchMs.length, retries, seconds: (performance.now() - t0) / 1000, batchMs: mapRound(latencySummary(batchMs)),
      error: (err as Error).message,
    };
  } finally {
    c?.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// One phase: server up, warm-up, then polling + deliveries (+ the heavy deletion) with a 1 s sampler

type PhaseName = 'calm-1' | 'incident' | 'calm-2';

interface SessionRecord {
  endS: number;
  user: string;
  r: Poll;
}

interface Second {
  t: number;
  sessions: number;
  p99Ms: number | null;
  backlog: number | null;
  shed: number | null;
  refused: number;
  reclaimed: number | null;
}

interface PhaseResult {
  phase: PhaseName;
  seconds: number;
  sessions: number;
  sessionsPerSecond: number;
  latencyMs: ReturnType<typeof latencySummary>;
  authMs: ReturnType<typeof latencySummary>;
  authFailures: number;
  mismatches: number;
  mismatchExamples: string[];
  refusals: Record<string, number>;
  failures: Record<string, number>;
  deliveries: { sent: number; failed: number; errors: Record<string, number>; ms: ReturnType<typeof latencySummary> };
  shed: number;
  shedBy: Record<string, number>;
  serverCpuMsPerSession: number;
  /** How late the generator's own event loop ran (p99, ms): its lag is part of every latency it measures. */
  generatorLagP99Ms: number;
  warmupMs: number;
  deletion?: DeletionResult;
  drainSeconds?: number | null;
  heavyAfter?: { stat?: number; uidlLines?: number; error?: string };
  timeline: Second[];
  /** Completed sessions' latencies, for pooling; not written to the JSON. */
  okMs?: number[];
}

async function runPhase(
  phase: PhaseName, dataDir: string, users: BenchUser[], p: Params, lastLists: Map<string, string[]>,
): Promise<PhaseResult> {
  const server: ServerProcess = await startServerProcess(['--data', dataDir, '--log-level', 'error', '--metrics-port', '0']);
  const transport = nodemailer.createTransport({
    host: '127.0.0.1', port: server.ports.lmtp, lmtp: true, pool: true, maxConnections: 4, maxMessages: Infinity,
    secure: false, ignoreTLS: true, name: 'bench.local',
  } as Parameters<typeof nodemailer.createTransport>[0]);
  try {
    const mport = server.ports.metrics!;
    const mismatchExamples: string[] = [];
    let mismatches = 0;
    const check = (user: string, r: Poll) => {
      const why = checkList(lastLists, user, r);
      if (why) {
        mismatches++;
        if (mismatchExamples.length < 10) mismatchExamples.push(`${phase} ${user}: ${why}`);
      }
    };
    // Warm-up, not timed: every account's first login (scrypt, index load); its list is checked too.
    const w0 = performance.now();
    {
      let i = 0;
      await Promise.all(Array.from({ length: p.clients }, async () => {
        while (i < users.length) {
          const u = users[i++]!;
          const r = await pollWithUidl(server.ports.pop3, u);
          if (!r.ok) throw new Error(`${phase}: warm-up session for ${u.name} failed: ${r.error}`);
          check(u.name, r);
        }
      }));
    }
    const warmupMs = performance.now() - w0;

    const records: SessionRecord[] = [];
    const deliveryMs: number[] = [];
    const deliveryErrors: Record<string, number> = {};
    const scrapes: (Scrape | undefined)[] = [];
    const first = await scrape(mport);
    const cpu0 = processCpuSeconds(server.child.pid!);
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const t0 = performance.now();
    const nowS = () => (performance.now() - t0) / 1000;
    let stop = false;

    // The heavy account's mass deletion, from the incident's first second.
    let deletionDone = phase !== 'incident';
    let deletion: DeletionResult | undefined;
    const deletionTask = phase === 'incident'
      ? massDelete(server.ports.imap, p).then((d) => {
        deletion = d;
        deletionDone = true;
      })
      : Promise.resolve();

    // Sampler: once a second, /metrics; decides when the phase is over.
    let drainSeconds: number | null = null;
    const sampler = (async () => {
      for (let s = 1; ; s++) {
        const wait = t0 + s * 1000 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const m = await scrape(mport);
        scrapes.push(m);
        const drained = deletionDone && m !== undefined && m.backlog === 0;
        if (phase === 'incident' && drained && drainSeconds === null && !deletion?.error) drainSeconds = s;
        if (s >= p.seconds && (phase !== 'incident' || drained || s >= p.maxIncidentSeconds)) {
          stop = true;
          return;
        }
      }
    })();

    // Ordinary clients: each polls a random account no other client is polling (one client per mailbox).
    const busy = new Set<number>();
    const clients = Array.from({ length: p.clients }, async () => {
      while (!stop) {
        let k: number;
        do k = Math.floor(Math.random() * users.length);
        while (busy.has(k));
        busy.add(k);
        const u = users[k]!;
        const t0 = performance.now();
        const r = await pollWithUidl(server.ports.pop3, u);
        if (r.ok) check(u.name, r);
        busy.delete(k);
        records.push({ endS: nowS(), user: u.name, r });
        if (!r.ok && TEMPORARY.test(r.error!)) await new Promise((res) => setTimeout(res, 100)); // "try later"
        // Mail clients poll on a timer, not flat out: the server has headroom, as a real one does.
        else if (p.pollEveryMs > 0) await new Promise((res) => setTimeout(res, Math.max(0, p.pollEveryMs * (0.5 + Math.random()) - (performance.now() - t0))));
      }
    });

    // Deliveries: open loop at p.deliveries messages/s to random ordinary accounts.
    let sent = 0;
    let failed = 0;
    const inflight = new Set<Promise<void>>();
    const deliverer = (async () => {
      let launched = 0;
      while (!stop) {
        const due = Math.floor(nowS() * p.deliveries) - launched;
        for (let i = 0; i < due; i++) {
          const n = launched++;
          const u = users[Math.floor(Math.random() * users.length)]!;
          const d0 = performance.now();
          const job = transport.sendMail({
            from: 'sender@example.com', to: `${u.name}@tegami.test`, subject: `${phase} delivery ${n}`,
            text: `delivery ${n} during ${phase}\n`.repeat(20), messageId: `<${phase}-${n}-${Date.now()}@bench.local>`,
          }).then(
            () => { sent++; deliveryMs.push(performance.now() - d0); },
            (e: Error & { responseCode?: number }) => {
              failed++;
              const key = String(e.responseCode ?? e.message.slice(0, 40));
              deliveryErrors[key] = (deliveryErrors[key] ?? 0) + 1;
            },
          );
          inflight.add(job);
          void job.finally(() => inflight.delete(job));
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    await sampler;
    const elapsed = nowS();
    await Promise.all([...clients, deliverer]);
    await Promise.all(inflight);
    await deletionTask;
    const cpu = processCpuSeconds(server.child.pid!) - cpu0;
    lag.disable();
    const lastScrape = await scrape(mport);

    let heavyAfter: PhaseResult['heavyAfter'];
    if (phase === 'incident') {
      const h = await pollWithUidl(server.ports.pop3, HEAVY);
      heavyAfter = h.ok ? { stat: h.messages, uidlLines: h.uidl!.length } : { error: h.error };
    }

    // Summaries over the timed window (sessions that ended after the window are included: they were
    // started inside it).
    const ok = records.filter((x) => x.r.ok);
    const refusals: Record<string, number> = {};
    const failures: Record<string, number> = {};
    let authFailures = 0;
    for (const x of records) {
      if (x.r.ok) continue;
      const key = `${x.r.failedAt} ${x.r.error}`;
      if (TEMPORARY.test(x.r.error!)) refusals[key] = (refusals[key] ?? 0) + 1;
      else {
        failures[key] = (failures[key] ?? 0) + 1;
        if (x.r.failedAt === 'auth') authFailures++;
      }
    }
    const timeline: Second[] = [];
    // One entry per sample; sessions that ended after the last sample (in flight at the end) go to it.
    const seconds = scrapes.length;
    for (let s = 0; s < seconds; s++) {
      const inS = records.filter((x) => x.endS >= s && (x.endS < s + 1 || s === seconds - 1));
      const okMs = inS.filter((x) => x.r.ok).map((x) => x.r.ms).sort((a, b) => a - b);
      const m = scrapes[s];
      const prev = s === 0 ? first : scrapes[s - 1];
      timeline.push({
        t: s + 1,
        sessions: okMs.length,
        p99Ms: okMs.length ? round(percentile(okMs, 99), 1) : null,
        backlog: m ? m.backlog : null,
        shed: m && prev ? m.shed - prev.shed : null,
        refused: inS.filter((x) => !x.r.ok && TEMPORARY.test(x.r.error!)).length,
        reclaimed: m && prev ? m.reclaimed - prev.reclaimed : null,
      });
    }
    return {
      phase,
      seconds: round(elapsed, 1),
      sessions: ok.length,
      sessionsPerSecond: round(ok.length / elapsed, 1),
      latencyMs: mapRound(latencySummary(ok.map((x) => x.r.ms))),
      authMs: mapRound(latencySummary(records.filter((x) => x.r.authMs !== undefined).map((x) => x.r.authMs!))),
      authFailures,
      mismatches,
      mismatchExamples,
      refusals,
      failures,
      deliveries: { sent, failed, errors: deliveryErrors, ms: mapRound(latencySummary(deliveryMs)) },
      shed: first && lastScrape ? lastScrape.shed - first.shed : NaN,
      shedBy: first && lastScrape
        ? Object.fromEntries(Object.entries(lastScrape.shedBy).map(([k, v]): [string, number] => [k, v - (first.shedBy[k] ?? 0)]).filter(([, v]) => v > 0))
        : {},
      serverCpuMsPerSession: round((cpu * 1000) / Math.max(1, ok.length), 3),
      generatorLagP99Ms: round(lag.percentile(99) / 1e6, 1),
      warmupMs: round(warmupMs),
      deletion,
      drainSeconds: phase === 'incident' ? drainSeconds : undefined,
      heavyAfter,
      timeline,
      okMs: ok.map((x) => x.r.ms),
    };
  } finally {
    transport.close();
    await server.stop();
  }
}

function mapRound<T extends Record<string, number>>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v)])) as T;
}

// ---------------------------------------------------------------------------------------------------

function chart(phases: PhaseResult[]): string {
  // One time axis across the phases, in the order they ran (the x label says where each one is).
  const p99: [number, number][] = [];
  const backlog: [number, number][] = [];
  const shed: [number, number][] = [];
  const spans: string[] = [];
  let offset = 0;
  for (const ph of phases) {
    for (const s of ph.timeline) {
      const x = offset + s.t;
      if (s.p99Ms !== null) p99.push([x, s.p99Ms]);
      backlog.push([x, s.backlog ?? 0]);
      shed.push([x, s.shed ?? 0]);
    }
    spans.push(`${ph.phase} ${offset + 1}–${offset + ph.timeline.length}`);
    offset += ph.timeline.length;
  }
  const svg = lineChart({
    title: 'incident replay: ordinary accounts\' POP3 p99 while the heavy account deletes',
    xLabel: `seconds (${spans.join(' | ')})`,
    leftLabel: 'p99 session ms per second; shed per second',
    rightLabel: 'reclaim backlog, bodies',
    series: [
      { name: 'p99 ordinary sessions', color: '#d62728', axis: 'left', points: p99 },
      { name: 'shed/s', color: '#ff7f0e', axis: 'left', points: shed },
      { name: 'backlog', color: '#1f77b4', axis: 'right', points: backlog },
    ],
  });
  // The chart helper labels every distinct x; keep one label in ten so the axis stays readable.
  const step = offset > 400 ? 50 : offset > 100 ? 20 : 10;
  return svg
    .split('\n')
    .filter((line) => {
      const m = /^<text x="[\d.]+" y="376" text-anchor="middle">(\d+)<\/text>$/.exec(line);
      return !m || Number(m[1]) % step === 0;
    })
    .join('\n')
    .replace(/<circle [^>]*\/>\n?/g, '');
}

function pad(v: unknown, n: number): string {
  return String(v).padStart(n);
}

async function main() {
  const { values } = parseArgs({
    options: {
      heavy: { type: 'string', default: '100000' },
      users: { type: 'string', default: '200' },
      'ordinary-messages': { type: 'string', default: '50' },
      clients: { type: 'string', default: '50' },
      'poll-every-ms': { type: 'string', default: '100' },
      deliveries: { type: 'string', default: '20' },
      seconds: { type: 'string', default: '30' },
      'max-incident-seconds': { type: 'string', default: '300' },
      keep: { type: 'string', default: '100' },
      batch: { type: 'string', default: '5000' },
      'keep-data': { type: 'boolean', default: false },
    },
  });
  const p: Params = {
    heavy: Number(values.heavy),
    users: Number(values.users),
    ordinaryMessages: Number(values['ordinary-messages']),
    clients: Number(values.clients),
    pollEveryMs: Number(values['poll-every-ms']),
    deliveries: Number(values.deliveries),
    seconds: Number(values.seconds),
    maxIncidentSeconds: Number(values['max-incident-seconds']),
    keep: Number(values.keep),
    batch: Number(values.batch),
  };
  if (p.clients > p.users) throw new Error('--clients must not exceed --users (one client per mailbox at a time)');
  const machine = machineInfo();
  console.log(`building data dirs: ${p.users} accounts × ${p.ordinaryMessages} messages; heavy account ${p.heavy} messages …`);
  const { calmDir, incidentDir, users, buildSeconds } = await buildDataDirs(p);
  console.log(`  built in ${round(buildSeconds, 1)} s`);
  // Last UIDL list per account, per data dir (the calm dir's lists carry over its restart).
  const listsCalm = new Map<string, string[]>();
  const listsIncident = new Map<string, string[]>();
  const phases: PhaseResult[] = [];
  try {
    for (const phase of ['calm-1', 'incident', 'calm-2'] as const) {
      const r = await runPhase(phase, phase === 'incident' ? incidentDir : calmDir, users, p, phase === 'incident' ? listsIncident : listsCalm);
      phases.push(r);
      console.log(`  ${phase}: ${r.seconds} s, ${r.sessions} sessions, p99 ${r.latencyMs.p99} ms, backlog at end ${r.timeline.at(-1)?.backlog}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  } finally {
    if (!values['keep-data']) {
      rmSync(calmDir, { recursive: true, force: true });
      rmSync(incidentDir, { recursive: true, force: true });
    }
  }
  const [calm1, incident, calm2] = phases as [PhaseResult, PhaseResult, PhaseResult];
  // Calm reference: both calm runs pooled (one before, one after the incident).
  const calmP99 = round(percentile([...calm1.okMs!, ...calm2.okMs!].sort((x, y) => x - y), 99));
  for (const r of phases) delete r.okMs;
  const ratio = round(incident.latencyMs.p99 / Math.max(0.001, calmP99), 2);
  const totals = {
    authFailures: phases.reduce((a, r) => a + r.authFailures, 0),
    mismatches: phases.reduce((a, r) => a + r.mismatches, 0),
  };
  const verdict = {
    calmP99Ms: calmP99,
    incidentP99Ms: incident.latencyMs.p99,
    p99Ratio: ratio,
    p99RatioTarget: 1.2,
    p99RatioMet: ratio <= 1.2,
    authFailures: totals.authFailures,
    uidlMismatches: totals.mismatches,
    calmNoise: round(calm2.latencyMs.p99 / Math.max(0.001, calm1.latencyMs.p99), 2),
  };

  // ---- table
  const rows: [string, (r: PhaseResult) => unknown][] = [
    ['seconds', (r) => r.seconds],
    ['sessions/s', (r) => r.sessionsPerSecond],
    ['session p50 ms', (r) => r.latencyMs.p50],
    ['session p99 ms', (r) => r.latencyMs.p99],
    ['session max ms', (r) => r.latencyMs.max],
    ['auth p99 ms', (r) => r.authMs.p99],
    ['auth failures', (r) => r.authFailures],
    ['UIDL mismatches', (r) => r.mismatches],
    ['refusals', (r) => Object.values(r.refusals).reduce((a, b) => a + b, 0)],
    ['other failures', (r) => Object.values(r.failures).reduce((a, b) => a + b, 0)],
    ['shed (metrics)', (r) => r.shed],
    ['  shed because', (r) => Object.entries(r.shedBy).map(([k, v]) => `${k} ${v}`).join(', ') || '—'],
    ['deliveries ok/failed', (r) => `${r.deliveries.sent}/${r.deliveries.failed}`],
    ['delivery p99 ms', (r) => r.deliveries.ms.p99],
    ['server CPU ms/session', (r) => r.serverCpuMsPerSession],
    ['generator lag p99 ms', (r) => r.generatorLagP99Ms],
  ];
  console.log('');
  console.log(`incident replay: ${p.users} ordinary accounts × ${p.ordinaryMessages} msgs, ${p.clients} POP3 clients (each polling every ~${p.pollEveryMs} ms), ${p.deliveries} deliveries/s; heavy account ${p.heavy} msgs → deletes all but ${p.keep} (IMAP, ${p.batch}/batch)`);
  console.log(`${'ordinary accounts'.padEnd(24)}${pad('calm-1', 12)}${pad('incident', 12)}${pad('calm-2', 12)}`);
  for (const [label, f] of rows) console.log(`${label.padEnd(24)}${pad(f(calm1), 12)}${pad(f(incident), 12)}${pad(f(calm2), 12)}`);
  const codes = new Set(phases.flatMap((r) => [...Object.keys(r.refusals), ...Object.keys(r.failures)]));
  for (const c of codes) {
    const v = (r: PhaseResult) => r.refusals[c] ?? r.failures[c] ?? 0;
    console.log(`${('  ' + c).padEnd(24)}${pad(v(calm1), 12)}${pad(v(incident), 12)}${pad(v(calm2), 12)}`);
  }
  const d = incident.deletion;
  console.log('');
  console.log(`heavy deletion: ${d?.deleted} messages in ${d?.batches} batches, ${round(d?.seconds ?? NaN, 1)} s (batch p50 ${d?.batchMs.p50} ms, max ${d?.batchMs.max} ms, retries ${d?.retries})${d?.error ? ` ERROR ${d.error}` : ''}`);
  console.log(`backlog drained at incident second ${incident.drainSeconds ?? 'never (cut off)'}; heavy account after: ${JSON.stringify(incident.heavyAfter)}`);
  // ---- timeline summary: the incident phase in ~10 slices
  console.log('');
  console.log('incident timeline (per slice: sessions/s, worst per-second p99, backlog at end, shed, refused)');
  const tl = incident.timeline;
  const slice = Math.max(1, Math.ceil(tl.length / 12));
  for (let i = 0; i < tl.length; i += slice) {
    const part = tl.slice(i, i + slice);
    const worst = Math.max(0, ...part.map((s) => s.p99Ms ?? 0));
    const sess = part.reduce((a, s) => a + s.sessions, 0) / part.length;
    const shed = part.reduce((a, s) => a + (s.shed ?? 0), 0);
    const refused = part.reduce((a, s) => a + s.refused, 0);
    const reclaimed = part.reduce((a, s) => a + (s.reclaimed ?? 0), 0);
    console.log(
      `  t ${pad(`${part[0]!.t}-${part.at(-1)!.t}`, 9)} s  ${pad(round(sess, 1), 6)}/s  p99 ${pad(worst, 7)} ms  backlog ${pad(part.at(-1)!.backlog ?? '?', 7)}  reclaimed ${pad(reclaimed, 6)}  shed ${pad(shed, 4)}  refused ${pad(refused, 4)}`,
    );
  }
  console.log('');
  console.log(`p99 incident / calm = ${incident.latencyMs.p99} / ${calmP99} ms = ${ratio} (target ≤ 1.2: ${verdict.p99RatioMet ? 'met' : 'NOT met'}); calm-2/calm-1 p99 = ${verdict.calmNoise} (noise)`);
  console.log(`auth failures ${totals.authFailures} (must be 0); UIDL mismatches ${totals.mismatches} (must be 0)`);
  for (const ex of phases.flatMap((r) => r.mismatchExamples).slice(0, 5)) console.log(`  mismatch: ${ex}`);

  const after = machineInfo();
  const file = writeResult('incident-replay', { bench: 'incident-replay', machine, loadavgAfter: after.loadavg, params: p, buildSeconds: round(buildSeconds, 1), verdict, phases });
  const svgFile = file.replace(/\.json$/, '.svg');
  writeFileSync(svgFile, chart(phases));
  console.log(`machine load before ${machine.loadavg.join(' ')}, after ${after.loadavg.join(' ')}`);
  console.log(`result: ${file}\nchart: ${svgFile}`);
  if (totals.mismatches > 0 || totals.authFailures > 0) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
