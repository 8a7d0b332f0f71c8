// Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went, by function self time —
// enough to see a hot spot without opening DevTools.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface HotSpot {
  fn: string;
  where: string;
  selfMs: number;
  share: number;
}

export function hotSpots(file: string, top = 15): HotSpot[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[] };
  const totalMs = (p.endTime - p.startTime) / 1000;
  const msPerSample = totalMs / Math.max(1, p.samples.length);
  const byFn = new Map<string, HotSpot>();
  for (const n of p.nodes) {
    if (!n.hitCount) continue;
    const where = `${n.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|server|protocol|storage)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
    const fn = n.callFrame.functionName || '(anonymous)';
    const key = `${fn} ${where}`;
    const h = byFn.get(key) ?? { fn, where, selfMs: 0, share: 0 };
    h.selfMs += n.hitCount * msPerSample;
    byFn.set(key, h);
  }
  const busy = [...byFn.values()].filter((h) => h.fn !== '(idle)' && h.fn !== '(program)');
  const busyMs = busy.reduce((a, h) => a + h.selfMs, 0);
  return busy
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top)
    .map((h) => ({ ...h, selfMs: Math.round(h.selfMs), share: Math.round((h.selfMs / Math.max(1, busyMs)) * 1000) / 10 }));
}
