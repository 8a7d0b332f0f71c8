// How long one command holds the event loop — what every other session waits meanwhile (invariant 10:
// every long piece of work yields). A mailbox of N messages (200,000), the server in this process over
// the memory backend, the client in a worker thread so that reading the answers is not counted; for
// each IMAP and POP3 command over the whole mailbox it prints the wall time and the longest stall of
// the server's loop while it ran (monitorEventLoopDelay, 1 ms resolution). A command that yields shows
// a stall of a few ms however long it runs; one that does not shows its whole run. Mass changes
// (STORE, COPY, EXPUNGE) are slow on purpose: they rest between slices (storage/engine/slices.ts).
//
//   npx tsx bench/command-stalls.ts [--messages 200000]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { machineInfo } from './lib/machine.ts';
import { writeResult } from './lib/results.ts';
import { round } from './lib/stats.ts';

const USER = 'bench';
const PASS = 'pw';

/** The first session's commands; it claims \Recent, so its FETCH renders its own view. */
const FIRST = [
  'SELECT INBOX', 'UID FETCH 1:* (UID FLAGS)', 'UID SEARCH ALL', 'UID SEARCH UID 1:* UNSEEN', 'UID STORE 1:* +FLAGS.SILENT (\\Flagged)',
  'UID COPY 1:* Other', 'STATUS Other (MESSAGES UNSEEN)',
];
/** A second session sees no \Recent: its FETCH 1:* is the answer rendered once on the shared snapshot. */
const SECOND = ['SELECT INBOX', 'FETCH 1:* (UID FLAGS)', 'FETCH 1:* (UID FLAGS)', 'FETCH 1:* (UID FLAGS RFC822.SIZE)'];
const POP3 = ['STAT', 'UIDL', 'LIST'];

interface Ports {
  imap: number;
  pop3: number;
  messages: number;
}

type Report = { start: string } | { end: string; answer: string } | { done: true };

/** The client side (worker thread): runs the commands, reporting when each starts and ends. */
async function client({ imap, pop3, messages }: Ports): Promise<void> {
  const { RawImap } = await import('./lib/imap-raw.ts');
  const { LineClient } = await import('../test/helpers/line-client.ts');
  const report = (r: Report) => parentPort!.postMessage(r);
  const run = async (label: string, command: () => Promise<string>) => {
    report({ start: label });
    report({ end: label, answer: (await command()).slice(0, 48) });
  };
  const first = await RawImap.connect(imap, USER, PASS);
  for (const c of [...FIRST, `UID STORE 1:${Math.floor(messages / 2)} +FLAGS.SILENT (\\Deleted)`, 'EXPUNGE']) {
    await run(`IMAP ${c}`, async () => (await first.command(c)).tail.toString().trim());
  }
  const second = await RawImap.connect(imap, USER, PASS);
  for (const [i, c] of SECOND.entries()) await run(`IMAP (2nd session) ${c}${i === 2 ? ' again' : ''}`, async () => (await second.command(c)).tail.toString().trim());
  first.close();
  second.close();
  const pop = await LineClient.connect(pop3);
  await pop.line();
  pop.send(`USER ${USER}`);
  await pop.line();
  await run('POP3 PASS (opens the maildrop)', async () => {
    pop.send(`PASS ${PASS}`);
    return (await pop.line(60_000)) ?? '';
  });
  for (const c of POP3) {
    await run(`POP3 ${c}`, async () => {
      pop.send(c);
      const lines = c === 'STAT' ? [(await pop.line(60_000)) ?? ''] : await pop.until((l) => l === '.', 60_000);
      return `${lines[0]} (${lines.length} lines)`;
    });
  }
  pop.send('QUIT');
  await pop.line();
  report({ done: true });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { messages: { type: 'string', default: '200000' } } });
  const messages = Number(values.messages);
  const { startHarness } = await import('../test/helpers/protocol-harness.ts');
  const { handleImapConnection } = await import('../protocol/imap/index.ts');
  const { handlePop3Connection } = await import('../protocol/pop3/index.ts');
  const imap = await startHarness(handleImapConnection, { users: { [USER]: PASS } });
  const pop3 = await startHarness(handlePop3Connection, { users: { [USER]: PASS }, wrapStore: () => imap.store });
  try {
    const one = Buffer.from('From: a@example.com\r\nSubject: s\r\n\r\nx\r\n');
    for (let i = 0; i < messages; i += 5000) {
      await imap.store.importMessages(USER, 'INBOX', Array.from({ length: Math.min(5000, messages - i) }, () => ({ raw: one })));
    }
    await imap.store.createMailbox(USER, 'Other');
    console.log(`${messages} messages in INBOX; longest stall = the longest the server's event loop was held at once`);
    const rows: { command: string; ms: number; longestStallMs: number; answer: string }[] = [];
    // The bench runs under tsx, whose loader a worker does not inherit: register it, then load this file.
    const tsx = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const worker = new Worker(boot, { eval: true, workerData: { imap: imap.port, pop3: pop3.port, messages } satisfies Ports });
    const loop = monitorEventLoopDelay({ resolution: 1 });
    let started = 0;
    await new Promise<void>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', (r: Report) => {
        if ('start' in r) {
          loop.reset();
          loop.enable();
          started = performance.now();
        } else if ('end' in r) {
          loop.disable();
          const row = { command: r.end, ms: round(performance.now() - started, 1), longestStallMs: round(loop.max / 1e6, 1), answer: r.answer };
          rows.push(row);
          console.log(`${row.command.padEnd(56)} ${String(row.ms).padStart(9)} ms   longest stall ${String(row.longestStallMs).padStart(6)} ms   ${row.answer}`);
        } else resolve();
      });
    });
    await worker.terminate();
    const file = writeResult('command-stalls', { bench: 'command-stalls', machine: machineInfo(), messages, rows });
    console.log(`result: ${file}`);
  } finally {
    await pop3.close();
    await imap.close();
  }
}

if (isMainThread) await main();
else await client(workerData as Ports);
