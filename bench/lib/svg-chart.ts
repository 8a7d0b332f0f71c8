// A small, dependency-free SVG line chart: series over a shared x axis, each on the left or the
// right y axis. Good enough to open in a browser next to the JSON it was drawn from.
export interface Series {
  name: string;
  color: string;
  axis: 'left' | 'right';
  points: [number, number][];
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  leftLabel: string;
  rightLabel?: string;
  series: Series[];
  logX?: boolean;
}

const W = 760;
const H = 420;
const M = { l: 70, r: 70, t: 40, b: 60 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function nice(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max) ?? max;
}

export function lineChart(spec: ChartSpec): string {
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const fx = spec.logX ? Math.log10 : (v: number) => v;
  const xMin = fx(Math.min(...xs));
  const xMax = fx(Math.max(...xs));
  const yMax = (axis: 'left' | 'right') =>
    nice(Math.max(0, ...spec.series.filter((s) => s.axis === axis).flatMap((s) => s.points.map((p) => p[1]))));
  const left = yMax('left');
  const right = yMax('right');
  const px = (x: number) => M.l + ((fx(x) - xMin) / Math.max(1e-9, xMax - xMin)) * (W - M.l - M.r);
  const py = (y: number, axis: 'left' | 'right') => H - M.b - (y / (axis === 'left' ? left : right)) * (H - M.t - M.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(spec.title)}</text>`,
    `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#333"/>`,
    `<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = M.t + (i * (H - M.t - M.b)) / 5;
    out.push(`<line x1="${M.l}" y1="${y}" x2="${W - M.r}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${M.l - 6}" y="${y + 4}" text-anchor="end">${round(left * (1 - i / 5))}</text>`);
    if (spec.rightLabel) out.push(`<text x="${W - M.r + 6}" y="${y + 4}">${round(right * (1 - i / 5))}</text>`);
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    out.push(`<text x="${px(x)}" y="${H - M.b + 16}" text-anchor="middle">${round(x)}</text>`);
  }
  out.push(`<text x="${W / 2}" y="${H - 18}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${H / 2}) rotate(-90)" text-anchor="middle">${esc(spec.leftLabel)}</text>`);
  if (spec.rightLabel) out.push(`<text transform="translate(${W - 14} ${H / 2}) rotate(90)" text-anchor="middle">${esc(spec.rightLabel)}</text>`);
  spec.series.forEach((s, k) => {
    const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y, s.axis).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts}"${s.axis === 'right' ? ' stroke-dasharray="6 3"' : ''}/>`);
    for (const [x, y] of s.points) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y, s.axis).toFixed(1)}" r="3" fill="${s.color}"/>`);
    out.push(`<rect x="${M.l + 10 + k * 170}" y="${M.t - 2}" width="12" height="4" fill="${s.color}"/>`);
    out.push(`<text x="${M.l + 26 + k * 170}" y="${M.t + 3}">${esc(s.name)}${s.axis === 'right' ? ' (right)' : ''}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
}

export interface Bar {
  label: string;
  value: number;
  /** Whisker: the spread over repeats. */
  min?: number;
  max?: number;
  color: string;
}

/** Horizontal bars with min–max whiskers: one figure, one bar per server. */
export function barChart(title: string, unit: string, bars: Bar[]): string {
  const w = 520;
  const rowH = 30;
  const left = 90;
  const h = 34 + bars.length * rowH + 10;
  const top = nice(Math.max(0, ...bars.map((b) => b.max ?? b.value)));
  const px = (v: number) => left + (v / top) * (w - left - 70);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="8" y="18" font-size="13">${esc(title)}${unit ? ` (${esc(unit)})` : ''}</text>`,
  ];
  bars.forEach((b, i) => {
    const y = 30 + i * rowH;
    out.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`);
    out.push(`<rect x="${left}" y="${y + 3}" width="${Math.max(1, px(b.value) - left).toFixed(1)}" height="${rowH - 10}" fill="${b.color}"/>`);
    if (b.min !== undefined && b.max !== undefined) {
      out.push(`<line x1="${px(b.min).toFixed(1)}" y1="${y + rowH / 2 - 1}" x2="${px(b.max).toFixed(1)}" y2="${y + rowH / 2 - 1}" stroke="#222"/>`);
    }
    out.push(`<text x="${(px(b.max ?? b.value) + 6).toFixed(1)}" y="${y + 15}">${round(b.value)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
