// The standard table for LevelDB and PostgreSQL side by side, from two `npm run bench` results:
// one run with --store leveldb (the default), one with --store postgres. Each figure is the median of
// its run's repeats; *pg/level* is PostgreSQL ÷ LevelDB (the *better* column says which way is good).
// The two runs are not interleaved: on a shared machine compare them with their load averages.
//
//   npm run bench -- --store leveldb && npm run bench -- --store postgres
//   npx tsx bench/compare-stores.ts bench/results/bench-A.json bench/results/bench-B.json
import { readFileSync } from 'node:fs';
import type { ScenarioReport } from './lib/report-html.ts';
import { writeResult } from './lib/results.ts';
import { round } from './lib/stats.ts';

interface SuiteResult {
  store?: string;
  startedAt: string;
  machine: { loadavg: number[] };
  loadavgAfter: number[];
  scenarios: ScenarioReport[];
}

function read(file: string): SuiteResult {
  const r = JSON.parse(readFileSync(file, 'utf8')) as SuiteResult;
  if (!Array.isArray(r.scenarios)) throw new Error(`${file} is not an \`npm run bench\` result`);
  return r;
}

const files = process.argv.slice(2);
if (files.length !== 2) throw new Error('usage: compare-stores.ts LEVELDB.json POSTGRES.json');
const runs = files.map(read);
const level = runs.find((r) => (r.store ?? 'leveldb') === 'leveldb');
const postgres = runs.find((r) => r.store === 'postgres');
if (!level || !postgres) throw new Error('need one result with store leveldb and one with store postgres');

const rows: { scenario: string; figure: string; better: string; leveldb?: number; postgres?: number; ratio?: number }[] = [];
for (const sc of level.scenarios) {
  const other = postgres.scenarios.find((s) => s.name === sc.name);
  for (const f of sc.figures) {
    const a = f.values.tegami?.median;
    const b = other?.figures.find((g) => g.key === f.key)?.values.tegami?.median;
    rows.push({
      scenario: sc.name, figure: `${f.label}${f.unit ? ` (${f.unit})` : ''}`, better: f.better,
      leveldb: a, postgres: b, ratio: a !== undefined && b !== undefined && a > 0 ? round(b / a, 2) : undefined,
    });
  }
}

const table = [['scenario', 'figure', 'leveldb', 'postgres', 'pg/level', 'better'],
  ...rows.map((r) => [r.scenario, r.figure, String(r.leveldb ?? '—'), String(r.postgres ?? '—'), String(r.ratio ?? ''), r.better])];
const w = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
for (const r of table) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
const load = (r: SuiteResult) => `${r.machine.loadavg[0]} → ${r.loadavgAfter[0]}`;
console.log(`\nload average (1 min): leveldb run ${load(level)}, postgres run ${load(postgres)}`);
const file = writeResult('stores', { bench: 'stores', from: files, leveldb: { startedAt: level.startedAt }, postgres: { startedAt: postgres.startedAt }, rows });
console.log(`result: ${file}`);
