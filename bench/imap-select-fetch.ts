// IMAP read path: SELECT + `UID FETCH 1:* (UID FLAGS)` on a large mailbox (what Thunderbird and
// mbsync do on every sync), and body FETCH throughput (`UID FETCH a:b (BODY.PEEK[])`), against a
// real server process. Prints medians over repeats and writes JSON under bench/results/.
//
//   npx tsx bench/imap-select-fetch.ts [--messages 100000] [--body-messages 10000] [--bodies 1000] [--repeats 5]
import { parseArgs } from 'node:util';
import { startServerProcess } from '../test/helpers/server-process.ts';
import { preparePopulatedDataDir } from './lib/fixture-data.ts';
import { RawImap } from './lib/imap-raw.ts';
import { machineInfo, processCpuSeconds } from './lib/machine.ts';
import { writeResult } from './lib/results.ts';
import { round, spread } from './lib/stats.ts';

export async function selectFetchFlags(messages: number, repeats: number) {
  const { dataDir, users } = await preparePopulatedDataDir({ users: 1, messages, profile: 'small' });
  const server = await startServerProcess(['--data', dataDir, '--log-level', 'error']);
  try {
    const u = users[0]!;
    const times: number[] = [];
    let cold = NaN;
    for (let i = 0; i <= repeats; i++) {
      const c = await RawImap.connect(server.ports.imap, u.name, u.password);
      const t0 = performance.now();
      const sel = await c.command('SELECT INBOX');
      const f = await c.command('UID FETCH 1:* (UID FLAGS)');
      const ms = performance.now() - t0;
      if (!/OK/.test(sel.tail) || !/OK/.test(f.tail)) throw new Error(`${sel.tail} / ${f.tail}`);
      if (i === 0) cold = ms; // first SELECT after start loads the mailbox index from disk
      else times.push(ms);
      c.close();
    }
    return { messages, coldMs: round(cold), warmMs: spread(times.map((t) => round(t))) };
  } finally {
    await server.stop();
  }
}

export async function fetchBodies(messages: number, bodies: number, repeats: number) {
  const { dataDir, users } = await preparePopulatedDataDir({ users: 1, messages, profile: 'realistic' });
  const server = await startServerProcess(['--data', dataDir, '--log-level', 'error']);
  try {
    const u = users[0]!;
    const c = await RawImap.connect(server.ports.imap, u.name, u.password);
    await c.command('EXAMINE INBOX');
    const mbps: number[] = [];
    const cpuPerMB: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const start = 1 + ((i * bodies) % Math.max(1, messages - bodies));
      const cpu0 = processCpuSeconds(server.child.pid!);
      const t0 = performance.now();
      const r = await c.command(`UID FETCH ${start}:${start + bodies - 1} (BODY.PEEK[])`);
      const secs = (performance.now() - t0) / 1000;
      if (!/OK/.test(r.tail)) throw new Error(r.tail);
      mbps.push(round(r.bytes / 1e6 / secs, 1));
      cpuPerMB.push(round(((processCpuSeconds(server.child.pid!) - cpu0) * 1000) / (r.bytes / 1e6), 2));
    }
    c.close();
    return { messages, bodies, mbPerSecond: spread(mbps), serverCpuMsPerMB: spread(cpuPerMB) };
  } finally {
    await server.stop();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '100000' },
      'body-messages': { type: 'string', default: '10000' },
      bodies: { type: 'string', default: '1000' },
      repeats: { type: 'string', default: '5' },
    },
  });
  const machine = machineInfo();
  const sel = await selectFetchFlags(Number(values.messages), Number(values.repeats));
  console.log(`SELECT + UID FETCH 1:* (UID FLAGS), ${sel.messages} messages: cold ${sel.coldMs} ms, warm median ${sel.warmMs.median} ms (min ${sel.warmMs.min}, max ${sel.warmMs.max})`);
  const body = await fetchBodies(Number(values['body-messages']), Number(values.bodies), Number(values.repeats));
  console.log(`UID FETCH ${body.bodies} x BODY.PEEK[] from ${body.messages}: median ${body.mbPerSecond.median} MB/s (min ${body.mbPerSecond.min}, max ${body.mbPerSecond.max}), server CPU ${body.serverCpuMsPerMB.median} ms/MB`);
  const file = writeResult('imap-select-fetch', { bench: 'imap-select-fetch', machine, loadavgAfter: machineInfo().loadavg, selectFetchFlags: sel, fetchBodies: body });
  console.log(`machine load ${machine.loadavg.join(' ')}; result: ${file}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
