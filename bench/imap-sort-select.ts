// SELECT on large mailboxes (100k and 1M messages: it reads running figures of the mailbox index,
// so its cost should not follow the mailbox's size), and SORT / THREAD (RFC 5256) on 100k messages:
// the first run reads every stored summary, later runs use the cached sort fields; and a SEARCH on
// metadata over the same mailbox. In-process, over the memory backend (what is measured is the
// protocol and the index, not the disk), through real sockets. For SEARCH, SORT and THREAD it also
// gives the longest the event loop was held at once: what every other session waited meanwhile.
// Prints medians and writes JSON under bench/results/.
//
//   npx tsx bench/imap-sort-select.ts [--sort-messages 100000 (0: none)] [--select-messages 100000,1000000] [--repeats 7]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { handleImapConnection } from '../protocol/imap/index.ts';
import { analyzeMessage } from '../protocol/mime/index.ts';
import { startHarness, type Harness } from '../test/helpers/protocol-harness.ts';
import { RawImap } from './lib/imap-raw.ts';
import { machineInfo } from './lib/machine.ts';
import { writeResult } from './lib/results.ts';
import { round, spread } from './lib/stats.ts';

const USER = 'bench';
const PASS = 'pw';
const BATCH = 5000;

/** Mail that threads: conversations of 1–6 messages, replies with Re:, References and In-Reply-To. */
function threadedMessage(i: number): Buffer {
  const conv = Math.floor(i / 4);
  const pos = i % 4;
  const refs = Array.from({ length: pos }, (_, k) => `<m${conv * 4 + k}@bench.test>`);
  const head = [
    `From: ${['Alice', 'Bob', 'Carol', 'Dan'][i % 4]} <user${i % 97}@example.com>`,
    `To: list${conv % 13}@example.com`,
    `Subject: ${pos ? 'Re: ' : ''}topic ${conv % 5000}`,
    `Date: ${new Date(Date.UTC(2026, 0, 1) + ((i * 7919) % 1_000_000) * 60_000).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <m${i}@bench.test>`,
    ...(pos ? [`In-Reply-To: ${refs[refs.length - 1]}`, `References: ${refs.join(' ')}`] : []),
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\nbody ${i}\r\n`);
}

async function fill(h: Harness, messages: number, raw: (i: number) => Buffer): Promise<void> {
  for (let i = 0; i < messages; i += BATCH) {
    const n = Math.min(BATCH, messages - i);
    await h.store.importMessages(USER, 'INBOX', Array.from({ length: n }, (_, k) => ({ raw: raw(i + k) })));
  }
}

/**
 * Wall time, the process's CPU time (server and client are this process: on a shared machine the CPU
 * time is the steadier figure), and the longest the event loop was held at once meanwhile — what
 * every other session would have waited (invariant 10: long work yields).
 */
async function measured(c: RawImap, command: string): Promise<{ ms: number; cpuMs: number; stallMs: number }> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await c.command(command);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  if (!/ OK /.test(r.tail)) throw new Error(`${command}: ${r.tail}`);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, stallMs: loop.max / 1e6 };
}

const timed = async (c: RawImap, command: string): Promise<number> => (await measured(c, command)).ms;

export async function selectTimes(messages: number, repeats: number) {
  // No analyzer: SELECT never needs a summary, and 1M summaries would not fit the point.
  const h = await startHarness(handleImapConnection, { users: { [USER]: PASS } });
  try {
    const one = Buffer.from('From: a@example.com\r\nSubject: s\r\n\r\nx\r\n');
    await fill(h, messages, () => one);
    const c = await RawImap.connect(h.port, USER, PASS);
    const first = await timed(c, 'SELECT INBOX');
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) times.push(await timed(c, 'SELECT INBOX'));
    const examine: number[] = [];
    for (let i = 0; i < repeats; i++) examine.push(await timed(c, 'EXAMINE INBOX'));
    c.close();
    return { messages, firstMs: round(first, 3), selectMs: spread(times.map((t) => round(t, 3))), examineMs: spread(examine.map((t) => round(t, 3))) };
  } finally {
    await h.close();
  }
}

const SORTS = ['UID SEARCH UID 1:* UNSEEN', 'SORT (ARRIVAL) UTF-8 ALL', 'SORT (DATE) UTF-8 ALL', 'SORT (SUBJECT) UTF-8 ALL', 'SORT (FROM) UTF-8 ALL', 'SORT (REVERSE DATE) UTF-8 UNSEEN', 'THREAD ORDEREDSUBJECT UTF-8 ALL', 'THREAD REFERENCES UTF-8 ALL'];

export async function sortTimes(messages: number, repeats: number) {
  const h = await startHarness(handleImapConnection, { users: { [USER]: PASS }, analyzer: analyzeMessage });
  try {
    await fill(h, messages, threadedMessage);
    const c = await RawImap.connect(h.port, USER, PASS);
    await c.command('SELECT INBOX');
    // The first command reads all the summaries (and caches their sort fields).
    const cold = await measured(c, 'SORT (DATE) UTF-8 ALL');
    const warm: Record<string, { ms: ReturnType<typeof spread>; cpuMs: ReturnType<typeof spread>; stallMs: ReturnType<typeof spread> }> = {};
    for (const cmd of SORTS) {
      const t: number[] = [];
      const cpu: number[] = [];
      const stall: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const m = await measured(c, cmd);
        t.push(round(m.ms, 1));
        cpu.push(round(m.cpuMs, 1));
        stall.push(round(m.stallMs, 1));
      }
      warm[cmd] = { ms: spread(t), cpuMs: spread(cpu), stallMs: spread(stall) };
    }
    c.close();
    return { messages, coldFirstSort: { ms: round(cold.ms, 1), cpuMs: round(cold.cpuMs, 1) }, warm };
  } finally {
    await h.close();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      'sort-messages': { type: 'string', default: '100000' },
      'select-messages': { type: 'string', default: '100000,1000000' },
      repeats: { type: 'string', default: '7' },
    },
  });
  const repeats = Number(values.repeats);
  const machine = machineInfo();
  const selects = [];
  for (const n of values['select-messages']!.split(',').map(Number)) {
    const r = await selectTimes(n, repeats);
    selects.push(r);
    console.log(`SELECT INBOX, ${n} messages: median ${r.selectMs.median} ms (min ${r.selectMs.min}, max ${r.selectMs.max}); EXAMINE median ${r.examineMs.median} ms; first ${r.firstMs} ms`);
  }
  const sortMessages = Number(values['sort-messages']);
  const sorts = sortMessages > 0 ? await sortTimes(sortMessages, repeats) : undefined;
  if (sorts) {
    console.log(`${sorts.messages} messages: first SORT (DATE), reading every summary: ${sorts.coldFirstSort.ms} ms (CPU ${sorts.coldFirstSort.cpuMs} ms)`);
    for (const [cmd, s] of Object.entries(sorts.warm)) {
      console.log(`  ${cmd}: median ${s.ms.median} ms (min ${s.ms.min}, max ${s.ms.max}), CPU median ${s.cpuMs.median} ms, longest stall of the loop median ${s.stallMs.median} ms (max ${s.stallMs.max})`);
    }
  }
  const file = writeResult('imap-sort-select', { bench: 'imap-sort-select', machine, loadavgAfter: machineInfo().loadavg, repeats, select: selects, sort: sorts });
  console.log(`machine load ${machine.loadavg.join(' ')}; result: ${file}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
