// The bench report: one self-contained HTML page (inline SVG, no scripts) that opens in any browser.
import type { FigureSpec } from '../scenarios.ts';
import type { HotSpot } from './cpu-profile.ts';
import type { Spread } from './stats.ts';
import { barChart, lineChart } from './svg-chart.ts';
import type { Side } from './targets.ts';

export const SIDE_COLORS: Record<Side, string> = { tegami: '#1f77b4', dovecot: '#8c564b' };

export interface FigureResult extends FigureSpec {
  values: Partial<Record<Side, Spread>>;
  /** median(tegami) / median(peer) */
  ratio?: number;
  met?: boolean;
}

export interface ScenarioReport {
  name: string;
  title: string;
  figures: FigureResult[];
  /** Raw latencies of every repeat, per side, for the distribution chart. */
  samples: Partial<Record<Side, number[]>>;
  error?: string;
}

export interface ExternalReport {
  name: string;
  title: string;
  summary: string;
  svg?: string;
  resultFile?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (s?: Spread) => (s ? `${s.median} <small>(${s.min}–${s.max})</small>` : '—');

function distribution(r: ScenarioReport): string {
  const sides = (Object.keys(r.samples) as Side[]).filter((s) => r.samples[s]!.length >= 5);
  if (!sides.length) return '';
  const ps = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9];
  return lineChart({
    title: `${r.name}: latency distribution`,
    xLabel: 'percentile',
    leftLabel: 'ms',
    series: sides.map((side) => {
      const s = [...r.samples[side]!].sort((a, b) => a - b);
      return {
        name: side, color: SIDE_COLORS[side], axis: 'left' as const,
        points: ps.map((p) => [p, s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!] as [number, number]),
      };
    }),
  });
}

export function renderReport(opts: {
  startedAt: string;
  machine: object;
  peer?: Side;
  size: string;
  repeats: number;
  scenarios: ScenarioReport[];
  externals: ExternalReport[];
  profile?: HotSpot[];
}): string {
  const rows: string[] = [];
  const charts: string[] = [];
  for (const r of opts.scenarios) {
    charts.push(`<h2 id="${r.name}">${esc(r.name)}</h2><p>${esc(r.title)}</p>`);
    if (r.error) charts.push(`<p class="bad">failed: ${esc(r.error)}</p>`);
    for (const f of r.figures) {
      rows.push(
        `<tr><td><a href="#${r.name}">${esc(r.name)}</a></td><td>${esc(f.label)}${f.unit ? ` (${esc(f.unit)})` : ''}</td>` +
          `<td>${fmt(f.values.tegami)}</td><td>${fmt(f.values.dovecot)}</td>` +
          `<td class="${f.met === false ? 'bad' : f.met ? 'good' : ''}">${f.ratio ?? '—'}</td>` +
          `<td>${f.target ? `${f.target.op} ${f.target.ratio}` : ''}</td></tr>`,
      );
      const bars = (Object.entries(f.values) as [Side, Spread][]).map(([side, v]) => ({
        label: side, value: v.median, min: v.min, max: v.max, color: SIDE_COLORS[side],
      }));
      charts.push(barChart(`${f.label}${f.better === 'higher' ? ' — higher is better' : ' — lower is better'}`, f.unit, bars));
    }
    charts.push(distribution(r));
  }
  for (const e of opts.externals) {
    charts.push(`<h2 id="${e.name}">${esc(e.name)}</h2><p>${esc(e.title)}</p><pre>${esc(e.summary)}</pre>${e.svg ?? ''}`);
    if (e.resultFile) charts.push(`<p><small>${esc(e.resultFile)}</small></p>`);
  }
  const profile = opts.profile?.length
    ? `<h2>Where tegami spent its CPU (self time, --profile)</h2><table><tr><th>function</th><th>where</th><th>ms</th><th>%</th></tr>${opts.profile
        .map((h) => `<tr><td>${esc(h.fn)}</td><td>${esc(h.where)}</td><td>${h.selfMs}</td><td>${h.share}</td></tr>`)
        .join('')}</table>`
    : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>tegami bench ${esc(opts.startedAt)}</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}.good{color:#2a7d2a;font-weight:bold}.bad{color:#c0392b;font-weight:bold}
svg{display:block;margin:8px 0}pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}</style></head><body>
<h1>tegami bench</h1>
<p>${esc(opts.startedAt)} · size ${esc(opts.size)} · ${opts.repeats} repeats per side, alternating${opts.peer ? ` · peer: ${esc(opts.peer)}` : ' · no peer (run with --peer dovecot for ratios)'}</p>
<p>Values are medians over repeats with (min–max). Ratio = tegami / ${esc(opts.peer ?? 'peer')}; the target column is from the issue.</p>
<table><tr><th>scenario</th><th>figure</th><th>tegami</th><th>${esc(opts.peer ?? 'peer')}</th><th>ratio</th><th>target</th></tr>${rows.join('')}</table>
${profile}
${charts.join('\n')}
<h2>Machine</h2><pre>${esc(JSON.stringify(opts.machine, null, 2))}</pre>
</body></html>
`;
}
