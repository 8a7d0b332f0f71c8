// Tombstones: does a mailbox that lost almost everything stay as fast as one that never churned?
// One account gets N messages, all but K of them are deleted through IMAP in realistic batches
// (`UID STORE a:b +FLAGS.SILENT (\Deleted)` + `UID EXPUNGE a:b`), and the K survivors (every
// N/K-th UID) are then polled — POP3 LOGIN+UIDL and IMAP SELECT + `UID FETCH 1:* (UID FLAGS)` —
// next to a never-churned account of K messages in the same server process, at three moments:
//   (a) right after the deletes, reclaimer held back (restart with --retention 1h: every queued body
//       is younger than the retention, so the reclaimer leaves it alone);
//   (b) while the reclaimer drains the backlog (restart without retention; samples taken while
//       tegami_reclaim_backlog_bodies > 0 on /metrics, one round every --b-gap-ms so they spread over the drain);
//   (c) after it finished (backlog 0), same process as (b).
// Prints median(heavy)/median(baseline) per operation and phase (target ≤ 1.2), the deletion time,
// reclaimer throughput and drain time; writes JSON (and an SVG of the drain) under bench/results/.
//
// With --store postgres the mail is moved (tegami migrate-store) into PostgreSQL 15 under Patroni: a
// primary and its synchronous standby (fsync on, one etcd member), reached through the multi-host
// URL; dead tuples (pg_stat_user_tables) and the standby's replay lag (pg_stat_replication) are
// sampled through every phase, and the server CPU includes PostgreSQL's processes.
//
//   npx tsx bench/tombstones.ts [--messages 300000] [--keep 100] [--batch 3000] [--repeats 30] [--b-gap-ms 1000] [--keep-data] [--store postgres]
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { analyzeMessage } from '../protocol/mime/index.ts';
import { importMbox } from '../server/mbox-import.ts';
import { userAdd } from '../server/users/index.ts';
import { openStore } from '../storage/index.ts';
import { uidlList } from '../test/helpers/pop3.ts';
import { startPatroniCluster, type PatroniCluster } from '../test/helpers/patroni.ts';
import { BIN, startServerProcess, type ServerProcess } from '../test/helpers/server-process.ts';
import { cachedMbox, preparePopulatedDataDir, type BenchUser } from './lib/fixture-data.ts';
import { RawImap } from './lib/imap-raw.ts';
import { imapSync } from './lib/imap-session.ts';
import { machineInfo, processCpuSeconds } from './lib/machine.ts';
import { pgPeaks, samplePostgres, type PgSampler } from './lib/pg-stats.ts';
import { pop3Poll } from './lib/pop3-session.ts';
import { processTree } from './peers/dovecot.ts';
import { writeResult } from './lib/results.ts';
import { round, spread, type Spread } from './lib/stats.ts';
import { lineChart } from './lib/svg-chart.ts';

export interface TombstoneParams {
  messages: number;
  keep: number;
  batch: number;
  repeats: number;
  /** Pause between timed rounds in (b), ms, so that the rounds spread over the drain instead of its first seconds. */
  bGapMs: number;
  store: 'leveldb' | 'postgres';
}

type Phase = 'a' | 'b' | 'c';
const PHASE_NAME: Record<Phase, string> = {
  a: '(a) after deletes, reclaimer held (--retention 1h)',
  b: '(b) while the reclaimer runs',
  c: '(c) after the reclaimer finished',
};

interface OpSamples {
  pop3: number[];
  imap: number[];
}

interface PhaseResult {
  /** Timed rounds (each: one POP3 poll and one IMAP select+fetch per account). */
  rounds: number;
  heavy: { pop3Ms: Spread; imapMs: Spread; coldPop3Ms?: number; coldImapMs?: number };
  baseline: { pop3Ms: Spread; imapMs: Spread; coldPop3Ms?: number; coldImapMs?: number };
  ratio: { pop3: number; imap: number };
  /** Reclaim backlog (bodies) at the start and end of the timed rounds. */
  backlogAtStart: number;
  backlogAtEnd: number;
  serverCpuMsPerRound: number;
}

// ---- small helpers ----------------------------------------------------------------------------

async function scrape(port: number): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('tegami_reclaim')) continue;
    const [name, value] = line.split(' ');
    out[name!] = Number(value);
  }
  return out;
}

const backlogOf = (m: Record<string, number>) => m['tegami_reclaim_backlog_bodies'] ?? NaN;
const reclaimedOf = (m: Record<string, number>) => m['tegami_reclaimed_bodies'] ?? NaN;

/** A UID set for a sorted list of UIDs: "1:2999,3001:5999". */
function uidSet(uids: readonly number[]): string {
  const parts: string[] = [];
  let lo = uids[0]!;
  let hi = lo;
  for (let i = 1; i <= uids.length; i++) {
    const u = uids[i];
    if (u === hi + 1) hi = u;
    else {
      parts.push(lo === hi ? String(lo) : `${lo}:${hi}`);
      if (u !== undefined) lo = hi = u;
    }
  }
  return parts.join(',');
}

const median = (xs: readonly number[]) => spread(xs).median;
const roundSpread = (s: Spread): Spread => ({ min: round(s.min), median: round(s.median), max: round(s.max) });

async function imapSelectFetch(port: number, u: BenchUser): Promise<number> {
  const c = await RawImap.connect(port, u.name, u.password);
  try {
    const t0 = performance.now();
    const sel = await c.command('SELECT INBOX');
    const f = await c.command('UID FETCH 1:* (UID FLAGS)');
    const ms = performance.now() - t0;
    if (!/OK/.test(sel.tail) || !/OK/.test(f.tail)) throw new Error(`${u.name}: ${sel.tail} / ${f.tail}`);
    return ms;
  } finally {
    c.close();
  }
}

// ---- the bench ----------------------------------------------------------------------------------

export async function runTombstones(p: TombstoneParams, log: (s: string) => void = () => {}) {
  // user0: N messages, to be churned down to K. user1: a never-churned mailbox of K messages.
  let t = performance.now();
  const { dataDir, users } = await preparePopulatedDataDir({ users: 1, messages: p.messages, profile: 'small' });
  const heavy = users[0]!;
  const base: BenchUser = { name: 'user1', password: 'pass1' };
  await userAdd(dataDir, base.name, base.password);
  {
    const store = await openStore({ path: join(dataDir, 'mail'), analyzer: analyzeMessage });
    try {
      await store.ensureUser(base.name);
      await importMbox(store, base.name, await cachedMbox({ messages: p.keep, profile: 'small' }));
    } finally {
      await store.close();
    }
  }
  const buildSeconds = round((performance.now() - t) / 1000, 1);
  log(`built ${dataDir}: ${heavy.name} ${p.messages} messages, ${base.name} ${p.keep} messages (${buildSeconds} s)`);
  // PostgreSQL: the same mail moved into a Patroni cluster, which tegami then serves
  const pg = p.store === 'postgres' ? await movedToPostgres(dataDir) : undefined;
  try {
    return await churnAndMeasure(p, log, { dataDir, heavy, base, buildSeconds }, pg);
  } finally {
    await pg?.stats.stop();
    await pg?.cluster.stop();
  }
}

/** The data directory's mail moved into a fresh Patroni cluster, and a sampler of its primary. */
async function movedToPostgres(dataDir: string): Promise<PgSide> {
  const cluster = await startPatroniCluster({ members: 2, etcdMembers: 1, durable: true });
  try {
    const url = await cluster.newDatabase();
    await promisify(execFile)(process.execPath, [BIN, 'migrate-store', '--data', dataDir, '--store', url]);
    const db = /@[^/]*\/([^?]*)/.exec(url)![1];
    const stats = await samplePostgres(`postgres://tegami@127.0.0.1:${(await cluster.waitForPrimary()).port}/${db}`, 500);
    return { cluster, storeArgs: ['--store', url], stats };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

interface PgSide {
  cluster: PatroniCluster;
  storeArgs: string[];
  stats: PgSampler;
}

async function churnAndMeasure(
  p: TombstoneParams, log: (s: string) => void, built: { dataDir: string; heavy: BenchUser; base: BenchUser; buildSeconds: number }, pg?: PgSide,
) {
  const { dataDir, heavy, base, buildSeconds } = built;
  // Survivors: every (N/K)-th UID, spread over the whole mailbox.
  const stride = Math.floor(p.messages / p.keep);
  const survivors = Array.from({ length: p.keep }, (_, i) => (i + 1) * stride);
  const keepSet = new Set(survivors);
  const doomed: number[] = [];
  for (let u = 1; u <= p.messages; u++) if (!keepSet.has(u)) doomed.push(u);

  const serve = (extra: string[]) =>
    startServerProcess(['--data', dataDir, ...(pg?.storeArgs ?? []), '--log-level', 'error', '--metrics-port', '0', ...extra], 300_000);
  /** CPU seconds of the server: tegami, and with PostgreSQL its processes too (they work for tegami). */
  const serverCpu = (s: ServerProcess) =>
    [s.child.pid!, ...(pg?.cluster.postmasterPids().flatMap(processTree) ?? [])].reduce((n, pid) => n + (processCpuSeconds(pid) || 0), 0);
  const phase = (name: string) => void (pg && (pg.stats.phase = name));

  // Identity checks across all phases: one UIDL list (K lines) and one IMAP UID list per account.
  const uidlLists = { heavy: new Set<string>(), baseline: new Set<string>() };
  const pollHashes = { heavy: new Set<string>(), baseline: new Set<string>() };
  const imapUidLists = { heavy: new Set<string>(), baseline: new Set<string>() };
  const uidlLines = { heavy: [] as number[], baseline: [] as number[] };
  const survivorUids = survivors.join(',');
  const verify = async (s: ServerProcess) => {
    for (const [who, u] of [['heavy', heavy], ['baseline', base]] as const) {
      const lines = await uidlList(s.ports.pop3, u.name, u.password);
      uidlLines[who].push(lines.length);
      uidlLists[who].add(lines.join('\n'));
      const r = await imapSync('127.0.0.1', s.ports.imap, u.name, u.password, 30_000, true);
      if (!r.ok) throw new Error(`${u.name}: imap sync ${r.error}`);
      imapUidLists[who].add(r.uids!.join(','));
    }
  };

  // ---- deletion, through the protocol, with the reclaimer held back (retention) ----
  let deletion: { seconds: number; batches: number; expunged: number; messagesPerSecond: number; batchMs: Spread; backlogAfter: number; reclaimedDuring: number };
  {
    phase('deletion');
    const s = await serve(['--retention', '1h']);
    try {
      const c = await RawImap.connect(s.ports.imap, heavy.name, heavy.password);
      const sel = await c.command('SELECT INBOX');
      if (!/OK/.test(sel.tail)) throw new Error(sel.tail);
      const batchMs: number[] = [];
      const t0 = performance.now();
      let batches = 0;
      for (let i = 0; i < doomed.length; i += p.batch) {
        const set = uidSet(doomed.slice(i, i + p.batch));
        const b0 = performance.now();
        const st = await c.command(`UID STORE ${set} +FLAGS.SILENT (\\Deleted)`);
        if (!/OK/.test(st.tail)) throw new Error(`STORE: ${st.tail}`);
        const ex = await c.command(`UID EXPUNGE ${set}`);
        if (!/OK/.test(ex.tail)) throw new Error(`EXPUNGE: ${ex.tail}`);
        batchMs.push(performance.now() - b0);
        batches++;
      }
      const seconds = (performance.now() - t0) / 1000;
      await c.command('LOGOUT').catch(() => undefined);
      c.close();
      const m = await scrape(s.ports.metrics!);
      deletion = {
        seconds: round(seconds, 1),
        batches,
        expunged: doomed.length,
        messagesPerSecond: Math.round(doomed.length / seconds),
        batchMs: roundSpread(spread(batchMs)),
        backlogAfter: backlogOf(m),
        reclaimedDuring: reclaimedOf(m),
      };
      log(`deleted ${doomed.length} in ${batches} batches of ≤${p.batch}: ${deletion.seconds} s (${deletion.messagesPerSecond} msg/s), backlog ${deletion.backlogAfter}`);
    } finally {
      await s.stop();
    }
  }

  // One timed round: a POP3 poll and an IMAP select+fetch for both accounts, order alternating.
  const round1 = async (s: ServerProcess, i: number, h: OpSamples, b: OpSamples) => {
    const order: [BenchUser, OpSamples, 'heavy' | 'baseline'][] = [[heavy, h, 'heavy'], [base, b, 'baseline']];
    if (i % 2) order.reverse();
    for (const [u, acc, who] of order) {
      const r = await pop3Poll('127.0.0.1', s.ports.pop3, u.name, u.password);
      if (!r.ok) throw new Error(`${u.name}: pop3 ${r.error}`);
      if (r.messages !== p.keep) throw new Error(`${u.name}: STAT says ${r.messages} messages, expected ${p.keep}`);
      pollHashes[who].add(r.uidlHash!);
      acc.pop3.push(r.ms);
    }
    for (const [u, acc] of order) acc.imap.push(await imapSelectFetch(s.ports.imap, u));
  };
  /** Cold first session per account after a (re)start: loads the index from disk. Not in the medians. */
  const cold = async (s: ServerProcess, u: BenchUser) => {
    const r = await pop3Poll('127.0.0.1', s.ports.pop3, u.name, u.password);
    if (!r.ok) throw new Error(`${u.name}: pop3 ${r.error}`);
    return { coldPop3Ms: round(r.ms), coldImapMs: round(await imapSelectFetch(s.ports.imap, u)) };
  };
  const summarize = (h: OpSamples, b: OpSamples, extra: Omit<PhaseResult, 'heavy' | 'baseline' | 'ratio' | 'rounds'>, hc?: object, bc?: object): PhaseResult => ({
    rounds: h.pop3.length,
    heavy: { pop3Ms: roundSpread(spread(h.pop3)), imapMs: roundSpread(spread(h.imap)), ...hc },
    baseline: { pop3Ms: roundSpread(spread(b.pop3)), imapMs: roundSpread(spread(b.imap)), ...bc },
    ratio: {
      pop3: h.pop3.length ? round(median(h.pop3) / median(b.pop3)) : NaN,
      imap: h.imap.length ? round(median(h.imap) / median(b.imap)) : NaN,
    },
    ...extra,
  });

  const phases: Partial<Record<Phase, PhaseResult>> = {};

  // ---- (a) reclaimer held back ----
  {
    phase('a');
    const s = await serve(['--retention', '1h']);
    try {
      const hc = await cold(s, heavy);
      const bc = await cold(s, base);
      await verify(s);
      const m0 = await scrape(s.ports.metrics!);
      const h: OpSamples = { pop3: [], imap: [] };
      const b: OpSamples = { pop3: [], imap: [] };
      const cpu0 = serverCpu(s);
      for (let i = 0; i < p.repeats; i++) await round1(s, i, h, b);
      const cpu = serverCpu(s) - cpu0;
      const m1 = await scrape(s.ports.metrics!);
      if (reclaimedOf(m1) !== 0) log(`warning: ${reclaimedOf(m1)} bodies reclaimed during (a)`);
      phases.a = summarize(h, b, { backlogAtStart: backlogOf(m0), backlogAtEnd: backlogOf(m1), serverCpuMsPerRound: round((cpu * 1000) / p.repeats) }, hc, bc);
      log(`${PHASE_NAME.a}: pop3 ×${phases.a.ratio.pop3}, imap ×${phases.a.ratio.imap} (backlog ${backlogOf(m1)})`);
    } finally {
      await s.stop();
    }
  }

  // ---- (b) reclaimer running, then (c) after it finished, same process ----
  const timeline: { t: number; backlog: number; reclaimed: number }[] = [];
  let reclaim: {
    bodies: number; drainSeconds: number; bodiesPerSecond: number;
    bodiesPerSecondWhileMeasuring: number; bodiesPerSecondIdle: number; backlogAtReady: number; reclaimedAtReady: number;
  };
  {
    phase('b');
    const tSpawn = performance.now();
    const s = await serve([]);
    const tReady = (performance.now() - tSpawn) / 1000;
    const mport = s.ports.metrics!;
    let last = await scrape(mport);
    const backlogAtReady = backlogOf(last);
    const reclaimedAtReady = reclaimedOf(last);
    timeline.push({ t: round(tReady, 2), backlog: backlogOf(last), reclaimed: reclaimedOf(last) });
    let tDrained = backlogOf(last) === 0 ? tReady : NaN;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await new Promise((r) => setTimeout(r, 200));
        try {
          last = await scrape(mport);
        } catch {
          continue;
        }
        const t = (performance.now() - tSpawn) / 1000;
        timeline.push({ t: round(t, 2), backlog: backlogOf(last), reclaimed: reclaimedOf(last) });
        if (Number.isNaN(tDrained) && backlogOf(last) === 0) tDrained = t;
      }
    })();
    try {
      const h: OpSamples = { pop3: [], imap: [] };
      const b: OpSamples = { pop3: [], imap: [] };
      let hc: object | undefined;
      let bc: object | undefined;
      const startBacklog = backlogOf(last);
      const cpu0 = serverCpu(s);
      if (backlogOf(last) > 0) {
        hc = await cold(s, heavy);
        bc = await cold(s, base);
      }
      let rounds = 0;
      for (let i = 0; i < p.repeats; i++) {
        const now = await scrape(mport);
        if (backlogOf(now) === 0) break;
        await round1(s, i, h, b);
        rounds++;
        if (i < p.repeats - 1) await new Promise((r) => setTimeout(r, p.bGapMs));
      }
      const tMeasureEnd = (performance.now() - tSpawn) / 1000;
      const cpuB = serverCpu(s) - cpu0;
      const reclaimedAtMeasureEnd = reclaimedOf(last);
      phases.b = summarize(h, b, { backlogAtStart: startBacklog, backlogAtEnd: backlogOf(last), serverCpuMsPerRound: rounds ? round((cpuB * 1000) / rounds) : NaN }, hc, bc);
      log(`${PHASE_NAME.b}: ${rounds} rounds, pop3 ×${phases.b.ratio.pop3}, imap ×${phases.b.ratio.imap} (backlog ${startBacklog} → ${backlogOf(last)})`);

      // wait for the drain
      const deadline = performance.now() + 60 * 60_000;
      while (Number.isNaN(tDrained)) {
        if (performance.now() > deadline) throw new Error('reclaimer did not drain within an hour');
        await new Promise((r) => setTimeout(r, 200));
      }
      sampling = false;
      await sampler;
      const final = await scrape(mport);
      const bodies = reclaimedOf(final);
      const drainSeconds = tDrained - tReady;
      reclaim = {
        bodies,
        drainSeconds: round(drainSeconds, 1),
        bodiesPerSecond: Math.round((bodies - reclaimedAtReady) / Math.max(1e-3, drainSeconds)),
        bodiesPerSecondWhileMeasuring: Math.round((reclaimedAtMeasureEnd - reclaimedAtReady) / Math.max(1e-3, tMeasureEnd - tReady)),
        bodiesPerSecondIdle: tDrained > tMeasureEnd ? Math.round((bodies - reclaimedAtMeasureEnd) / (tDrained - tMeasureEnd)) : NaN,
        backlogAtReady,
        reclaimedAtReady,
      };
      log(`reclaimer: ${bodies} bodies, drained ${reclaim.drainSeconds} s after ready, ${reclaim.bodiesPerSecond} bodies/s`);

      // (c): backlog 0; let the last step's range compaction settle for a moment first
      phase('c');
      await new Promise((r) => setTimeout(r, 2000));
      await verify(s);
      const h2: OpSamples = { pop3: [], imap: [] };
      const b2: OpSamples = { pop3: [], imap: [] };
      const cpu1 = serverCpu(s);
      for (let i = 0; i < p.repeats; i++) await round1(s, i, h2, b2);
      const cpuC = serverCpu(s) - cpu1;
      const mc = await scrape(mport);
      phases.c = summarize(h2, b2, { backlogAtStart: 0, backlogAtEnd: backlogOf(mc), serverCpuMsPerRound: round((cpuC * 1000) / p.repeats) });
      log(`${PHASE_NAME.c}: pop3 ×${phases.c.ratio.pop3}, imap ×${phases.c.ratio.imap}`);
    } finally {
      sampling = false;
      await sampler;
      await s.stop();
    }
  }

  const oneList = (set: Set<string>) => set.size;
  const identity = {
    uidlLines,
    distinctUidlLists: { heavy: oneList(uidlLists.heavy), baseline: oneList(uidlLists.baseline) },
    distinctPollUidlHashes: { heavy: oneList(pollHashes.heavy), baseline: oneList(pollHashes.baseline) },
    distinctImapUidLists: { heavy: oneList(imapUidLists.heavy), baseline: oneList(imapUidLists.baseline) },
    /** The heavy account's IMAP UIDs are exactly the chosen survivors (every stride-th UID). */
    heavyUidsAreSurvivors: [...imapUidLists.heavy].every((x) => x === survivorUids),
  };
  const postgres = pg && {
    cluster: 'PostgreSQL 15 under Patroni: a primary and its synchronous standby, fsync on; one etcd member',
    peaks: pgPeaks(pg.stats.samples),
    timeline: pg.stats.samples,
  };
  return { params: p, dataDir, buildSeconds, stride, deletion: deletion!, phases: phases as Record<Phase, PhaseResult>, reclaim: reclaim!, identity, timeline, postgres };
}

async function main() {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '300000' },
      keep: { type: 'string', default: '100' },
      batch: { type: 'string', default: '3000' },
      repeats: { type: 'string', default: '30' },
      'b-gap-ms': { type: 'string', default: '1000' },
      'keep-data': { type: 'boolean', default: false },
      store: { type: 'string', default: 'leveldb' },
    },
  });
  if (values.store !== 'leveldb' && values.store !== 'postgres') throw new Error('--store is leveldb or postgres');
  const params: TombstoneParams = {
    messages: Number(values.messages),
    keep: Number(values.keep),
    batch: Number(values.batch),
    repeats: Number(values.repeats),
    bGapMs: Number(values['b-gap-ms']),
    store: values.store,
  };
  const machine = machineInfo();
  const r = await runTombstones(params, (s) => console.error(s));
  // the churned data dir is ~0.6 GB at 300k: gone unless asked for
  if (!values['keep-data']) rmSync(r.dataDir, { recursive: true, force: true });
  const out = { bench: 'tombstones', store: params.store, machine, loadavgAfter: machineInfo().loadavg, ...r };
  const file = writeResult('tombstones', out);
  const svg = lineChart({
    title: `Reclaiming ${r.reclaim.bodies} bodies (${params.messages} → ${params.keep} messages)`,
    xLabel: 's since server start',
    leftLabel: 'backlog (bodies)',
    rightLabel: 'reclaimed (bodies)',
    series: [
      { name: 'backlog', color: '#c0392b', axis: 'left', points: r.timeline.map((p) => [p.t, p.backlog]) },
      { name: 'reclaimed', color: '#2471a3', axis: 'right', points: r.timeline.map((p) => [p.t, p.reclaimed]) },
    ],
  });
  const svgFile = file.replace(/\.json$/, '.svg');
  writeFileSync(svgFile, svg);
  if (r.postgres) {
    writeFileSync(file.replace(/\.json$/, '-postgres.svg'), lineChart({
      title: 'PostgreSQL during the deletes and the reclaim: dead tuples, and WAL bytes the standby has not replayed',
      xLabel: 's since the data was moved into PostgreSQL',
      leftLabel: 'dead tuples',
      rightLabel: 'bytes behind',
      series: [
        { name: 'dead tuples', color: '#c0392b', axis: 'left', points: r.postgres.timeline.map((x) => [x.t, x.deadTuples]) },
        { name: 'standby bytes behind', color: '#2471a3', axis: 'right', points: r.postgres.timeline.map((x) => [x.t, x.lagBytes]) },
      ],
    }));
  }

  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(`tombstones: ${params.messages} messages → ${params.keep} survivors (every ${r.stride}th UID), ${params.repeats} repeats, medians in ms`);
  console.log(`  deletion: ${r.deletion.expunged} via UID STORE +FLAGS.SILENT (\\Deleted) + UID EXPUNGE, ${r.deletion.batches} batches of ≤${params.batch}: ${r.deletion.seconds} s (${r.deletion.messagesPerSecond} msg/s, batch median ${r.deletion.batchMs.median} ms, max ${r.deletion.batchMs.max} ms)`);
  console.log(`  ${'phase'.padEnd(52)} ${pad('n', 3)} ${pad('pop3 heavy', 10)} ${pad('pop3 base', 10)} ${pad('ratio', 6)} ${pad('imap heavy', 10)} ${pad('imap base', 10)} ${pad('ratio', 6)} ${pad('backlog', 15)}`);
  for (const ph of ['a', 'b', 'c'] as const) {
    const x = r.phases[ph];
    console.log(
      `  ${PHASE_NAME[ph].padEnd(52)} ${pad(x.rounds, 3)} ${pad(x.heavy.pop3Ms.median, 10)} ${pad(x.baseline.pop3Ms.median, 10)} ${pad(x.ratio.pop3, 6)} ` +
        `${pad(x.heavy.imapMs.median, 10)} ${pad(x.baseline.imapMs.median, 10)} ${pad(x.ratio.imap, 6)} ${pad(`${x.backlogAtStart}→${x.backlogAtEnd}`, 15)}`,
    );
  }
  for (const ph of ['a', 'b'] as const) {
    const x = r.phases[ph];
    console.log(`  cold first session after restart ${ph}: pop3 heavy ${x.heavy.coldPop3Ms ?? '-'} / base ${x.baseline.coldPop3Ms ?? '-'} ms, imap heavy ${x.heavy.coldImapMs ?? '-'} / base ${x.baseline.coldImapMs ?? '-'} ms`);
  }
  console.log(`  reclaimer: ${r.reclaim.bodies} bodies, drain ${r.reclaim.drainSeconds} s after ready → ${r.reclaim.bodiesPerSecond} bodies/s (${r.reclaim.bodiesPerSecondWhileMeasuring} while (b) was measured, ${r.reclaim.bodiesPerSecondIdle} after)`);
  const id = r.identity;
  console.log(`  UIDL lines per check: heavy ${id.uidlLines.heavy.join(',')}, base ${id.uidlLines.baseline.join(',')}; distinct UIDL lists heavy ${id.distinctUidlLists.heavy} / base ${id.distinctUidlLists.baseline} (poll hashes ${id.distinctPollUidlHashes.heavy}/${id.distinctPollUidlHashes.baseline}, IMAP UID lists ${id.distinctImapUidLists.heavy}/${id.distinctImapUidLists.baseline}) — must be 1; heavy UIDs = survivors: ${id.heavyUidsAreSurvivors}`);
  if (r.postgres) {
    console.log(`  ${r.postgres.cluster}; per phase, the peaks of dead tuples (all tables), the standby's replay lag and its WAL bytes behind:`);
    for (const [ph, x] of Object.entries(r.postgres.peaks)) {
      console.log(`    ${ph.padEnd(9)} ${pad(x.samples, 4)} samples  dead tuples ≤ ${pad(x.maxDeadTuples, 8)}  replay lag ≤ ${pad(x.maxReplayLagMs ?? '-', 7)} ms  ≤ ${pad(x.maxLagBytes, 9)} bytes behind  ${x.autovacuums} autovacuums`);
    }
  }
  console.log(`  machine load ${machine.loadavg.join(' ')} → ${out.loadavgAfter.join(' ')}; result: ${file}; chart: ${svgFile}`);
  const bad =
    id.distinctUidlLists.heavy !== 1 || id.distinctUidlLists.baseline !== 1 || id.distinctPollUidlHashes.heavy !== 1 ||
    id.distinctImapUidLists.heavy !== 1 || !id.heavyUidsAreSurvivors || ![...id.uidlLines.heavy, ...id.uidlLines.baseline].every((n) => n === params.keep);
  if (bad) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
