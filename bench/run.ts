// `npm run bench`: every scenario, small enough for a 2-core machine in a few minutes, with a JSON
// result and an HTML report under bench/results/.
//
//   npm run bench                                   all scenarios, quick sizes, tegami only
//   npm run bench -- poll-storm --peer dovecot      one scenario, tegami and Dovecot alternating
//   npm run bench -- --size full --peer dovecot     the issue's sizes (100k mailboxes): ~30 minutes
//   npm run bench -- poll-storm --store postgres    tegami over a private PostgreSQL 15 (fsync on)
//   npm run bench -- poll-storm --store sharded     tegami over two, with a shard map (half the accounts each)
//   options: --repeats N (default 3)  --profile (CPU profile of tegami; hot spots in the report)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { hotSpots, type HotSpot } from './lib/cpu-profile.ts';
import { machineInfo } from './lib/machine.ts';
import { renderReport, type ExternalReport, type FigureResult, type ScenarioReport } from './lib/report-html.ts';
import { RESULTS_DIR, writeResult } from './lib/results.ts';
import { round, spread } from './lib/stats.ts';
import { startTarget, type Side, type Target, type TargetOptions } from './lib/targets.ts';
import { scenarioByName, scenarios, type Measurement, type Scenario, type Size } from './scenarios.ts';

/** Benches with their own script (tegami only; they measure tegami against itself). */
const EXTERNAL: Record<string, { title: string; script: string; args: (size: Size, store: string) => string[] }> = {
  overload: {
    title: 'Overload: offered load stepped to 10× capacity; goodput, refusals, p99, mismatches (must be 0)',
    script: 'overload.ts',
    args: (size) => (size === 'full' ? [] : ['--messages', '1000', '--users', '10', '--step-seconds', '3', '--multipliers', '0.5,1,2,5,10']),
  },
  'memory-store': {
    title: 'The memory store for embedding: open, account, delivery, snapshot, close — µs per cycle and heap',
    script: 'memory-store.ts',
    args: (size) => (size === 'full' ? ['--cycles', '20000'] : ['--cycles', '2000']),
  },
  tombstones: {
    title: '300k messages, all but 100 deleted: LOGIN+UIDL and SELECT+FETCH on the survivors vs a never-churned mailbox',
    script: 'tombstones.ts',
    args: (size, store) => [...(size === 'full' ? [] : ['--messages', '20000', '--repeats', '10']), '--store', store],
  },
  'incident-replay': {
    title: 'The incident week on one machine: a heavy account deletes its mail while 200 ordinary accounts poll',
    script: 'incident-replay.ts',
    args: (size) => (size === 'full' ? [] : ['--heavy', '20000', '--seconds', '15']),
  },
};

async function runScenario(sc: Scenario, sides: Side[], size: Size, repeats: number, bar: cliProgress.SingleBar, target: TargetOptions): Promise<ScenarioReport> {
  const report: ScenarioReport = { name: sc.name, title: sc.title, figures: [], samples: {} };
  const targets: Target[] = [];
  const per: Partial<Record<Side, Measurement[]>> = {};
  try {
    for (const side of sides) {
      bar.update({ what: `${sc.name}: starting ${side}` });
      const t = await startTarget(side, sc.fixture(size), target);
      targets.push(t);
      await sc.warmUp?.(t, size);
    }
    for (let r = 0; r < repeats; r++) {
      // alternate who goes first, so drift in machine load does not favour one side
      const order = r % 2 ? [...targets].reverse() : targets;
      for (const t of order) {
        bar.update({ what: `${sc.name}: ${t.side} ${r + 1}/${repeats}` });
        (per[t.side] ??= []).push(await sc.measure(t, size));
        bar.increment();
      }
    }
  } catch (err) {
    report.error = (err as Error).message;
  } finally {
    for (const t of targets) await t.stop();
  }
  for (const f of sc.figures) {
    const fr: FigureResult = { ...f, values: {} };
    for (const side of sides) {
      const vals = (per[side] ?? []).map((m) => m.figures[f.key]!).filter((v) => Number.isFinite(v));
      if (vals.length) fr.values[side] = spread(vals);
    }
    const a = fr.values.tegami?.median;
    const b = fr.values.dovecot?.median;
    if (a !== undefined && b !== undefined && b > 0) {
      fr.ratio = round(a / b, 2);
      if (f.target) fr.met = f.target.op === '≥' ? fr.ratio >= f.target.ratio : fr.ratio <= f.target.ratio;
    }
    report.figures.push(fr);
  }
  for (const side of sides) {
    const s = (per[side] ?? []).flatMap((m) => m.samples ?? []);
    if (s.length) report.samples[side] = s;
  }
  return report;
}

function runExternal(name: string, size: Size, store: string): Promise<ExternalReport> {
  const ext = EXTERNAL[name]!;
  const script = new URL(`./${ext.script}`, import.meta.url).pathname;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...ext.args(size, store)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const resultFile = /result: (\S+\.json)/.exec(out)?.[1];
      const chart = /chart: (\S+\.svg)/.exec(out)?.[1];
      const summary = out.split('\n').filter((l) => l.trim() && !/^\s*(result|chart):/.test(l)).slice(-25).join('\n');
      resolve({
        name, title: ext.title, resultFile,
        summary: code === 0 ? summary : `exit code ${code}\n${summary}`,
        svg: chart && existsSync(chart) ? readFileSync(chart, 'utf8') : undefined,
      });
    });
  });
}

function printTable(reports: ScenarioReport[], peer?: Side): void {
  const rows = [['scenario', 'figure', 'tegami', peer ?? '', peer ? 'ratio' : '', peer ? 'target' : '']];
  for (const r of reports) {
    if (r.error) rows.push([r.name, `FAILED: ${r.error}`, '', '', '', '']);
    for (const f of r.figures) {
      rows.push([
        r.name, `${f.label}${f.unit ? ` (${f.unit})` : ''}`, String(f.values.tegami?.median ?? '—'), peer ? String(f.values[peer]?.median ?? '—') : '',
        f.ratio !== undefined ? String(f.ratio) : '', f.target ? `${f.target.op} ${f.target.ratio}${f.met === undefined ? '' : f.met ? ' ok' : ' MISSED'}` : '',
      ]);
    }
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      peer: { type: 'string' },
      size: { type: 'string', default: 'quick' },
      repeats: { type: 'string', default: '3' },
      profile: { type: 'boolean', default: false },
      store: { type: 'string', default: 'leveldb' },
    },
  });
  const store = values.store;
  if (store !== 'leveldb' && store !== 'postgres' && store !== 'sharded') throw new Error('--store is leveldb, postgres or sharded');
  const size = values.size as Size;
  if (size !== 'quick' && size !== 'full') throw new Error('--size is quick or full');
  if (values.peer && values.peer !== 'dovecot') throw new Error('the only peer is dovecot');
  const peer = values.peer as Side | undefined;
  const repeats = Math.max(1, Number(values.repeats));
  const all = positionals.length === 0;
  const chosen = all ? scenarios(size) : positionals.filter((n) => !EXTERNAL[n]).map((n) => scenarioByName(n) ?? fail(n));
  const externals = all ? Object.keys(EXTERNAL) : positionals.filter((n) => EXTERNAL[n]);
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const profileDir = values.profile ? join(RESULTS_DIR, `profile-${startedAt.replace(/[:.]/g, '-')}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  const sidesOf = (sc: Scenario): Side[] => sc.sides.filter((s) => s === 'tegami' || s === peer);
  const total = chosen.reduce((n, sc) => n + sidesOf(sc).length * repeats, 0) + externals.length;
  const bar = new cliProgress.SingleBar(
    { format: '{bar} {value}/{total} | {what}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { what: 'starting' });
  const reports: ScenarioReport[] = [];
  for (const sc of chosen) reports.push(await runScenario(sc, sidesOf(sc), size, repeats, bar, { profileDir, store }));
  const extReports: ExternalReport[] = [];
  for (const name of externals) {
    bar.update({ what: `${name} (its own script)` });
    extReports.push(await runExternal(name, size, store));
    bar.increment();
  }
  bar.stop();

  let profile: HotSpot[] | undefined;
  if (profileDir) {
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
    profile = files.length ? files.map((f) => hotSpots(join(profileDir, f), 40)).flat().sort((a, b) => b.selfMs - a.selfMs).slice(0, 25) : undefined;
  }
  const data = { bench: 'suite', startedAt, machine, loadavgAfter: machineInfo().loadavg, size, repeats, peer, store, scenarios: reports, externals: extReports.map(({ svg: _svg, ...e }) => e), profileDir, profile };
  const json = writeResult('bench', data);
  const html = writeResult('bench-report', renderReport({ startedAt, machine, peer, size, repeats, scenarios: reports, externals: extReports, profile }), 'html');
  console.log('');
  printTable(reports, peer);
  for (const e of extReports) console.log(`\n== ${e.name} ==\n${e.summary}`);
  if (profile) {
    console.log(`\nwhere tegami spent its CPU (self time; profiles in ${profileDir}):`);
    for (const h of profile.slice(0, 12)) console.log(`  ${String(h.share).padStart(5)}%  ${h.fn}  ${h.where}`);
  }
  console.log(`\nresult: ${json}\nreport: ${html} (open it in a browser)`);
  if (reports.some((r) => r.error)) process.exitCode = 1;
}

function fail(name: string): never {
  const known = [...scenarios('full').map((s) => s.name), ...Object.keys(EXTERNAL)];
  throw new Error(`unknown scenario ${name}; known: ${known.join(', ')}`);
}

await main();
