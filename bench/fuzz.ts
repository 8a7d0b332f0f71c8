// A bounded socket-level fuzzer (invariants 9 and 10): random and mutated POP3, IMAP, SMTP and LMTP
// sessions are thrown at a live `tegami serve` for N seconds, while a well-behaved client beside
// them delivers to its own account and reads it back over IMAP and POP3. The server must stay up,
// its RSS bounded, and the well-behaved client must get correct answers throughout.
//
//   npx tsx bench/fuzz.ts --seconds 300 [--seed N] [--workers 4]
//
// Prints the figures and writes bench/results/fuzz-*.json. Sessions are reproducible from the seed
// (one PRNG stream per worker), the timing of the server's answers aside.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { seeded } from '../server/chaos/index.ts';
import { LineClient } from '../test/helpers/line-client.ts';
import { startServerProcess } from '../test/helpers/server-process.ts';
import { machineInfo } from './lib/machine.ts';
import { MailSender } from './lib/mail-sender.ts';
import { writeResult } from './lib/results.ts';

type Protocol = 'pop3' | 'imap' | 'smtp' | 'lmtp';

export interface FuzzOptions {
  seconds: number;
  seed: number;
  workers: number;
  /** Bytes one fuzz session sends at most. */
  maxSessionBytes?: number;
}

export interface FuzzResult {
  seconds: number;
  seed: number;
  workers: number;
  sessionsThrown: number;
  bytesSent: number;
  /** 0 or 1: the server process exited while being fuzzed. */
  crashes: number;
  startRssMB: number;
  peakRssMB: number;
  wellBehaved: { rounds: number; wrong: string[]; refused: number; maxRoundMs: number };
}

// Valid sessions to mutate: what real clients send, logged in as the fuzz account.
const SCRIPTS: Record<Protocol, string[]> = {
  pop3: ['CAPA', 'USER alice', 'PASS fuzz-pass', 'STAT', 'LIST', 'UIDL', 'RETR 1', 'TOP 1 0', 'DELE 1', 'RSET', 'NOOP', 'AUTH PLAIN AGFsaWNlAGZ1enotcGFzcw==', 'QUIT'],
  imap: [
    'a CAPABILITY', 'b LOGIN alice fuzz-pass', 'c LIST "" "*"', 'd SELECT INBOX', 'e FETCH 1:* (FLAGS UID BODYSTRUCTURE ENVELOPE)',
    'f UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[1]<0.10>)', 'g SEARCH TEXT "x" OR FROM a SUBJECT b', 'h STORE 1 +FLAGS (\\Seen)',
    'i APPEND INBOX {12}\r\nSubject: x\r\n', 'j CREATE "a/b&APw-"', 'k RENAME "a/b&APw-" "c"', 'l STATUS INBOX (MESSAGES UIDNEXT SIZE)',
    'm UID SEARCH UID 1:*,2,3:4', 'n COPY 1 Trash', 'o EXPUNGE', 'p ENABLE QRESYNC IMAP4rev2', 'q IDLE\r\nDONE', 'r AUTHENTICATE PLAIN\r\nAGFsaWNlAGZ1enotcGFzcw==',
    's LIST "" "*%a*"', 't DELETE c', 'u LOGOUT',
  ],
  smtp: ['EHLO fuzz', 'MAIL FROM:<f@example.com>', 'RCPT TO:<alice@example.com>', 'DATA', 'Subject: fuzz\r\n\r\nbody\r\n.', 'RSET', 'NOOP', 'QUIT'],
  lmtp: ['LHLO fuzz', 'MAIL FROM:<f@example.com>', 'RCPT TO:<alice@example.com>', 'DATA', 'Subject: fuzz\r\n\r\nbody\r\n.', 'QUIT'],
};

// Things that have hurt servers: huge counts, literals, wildcards, encodings, control bytes.
const NASTY = [
  '{999999999999}', '{4294967296+}', '{0}', '{65536}', '*'.repeat(40), '%*%*%*%*a', '&2AA-', '&AGE-', '&-', '1:*,'.repeat(200), '4294967295:*', '0:0',
  '\x00', '\xff\xfe', '"', '\\', '(', ')', '((((((((((', '[', ']<0.4294967295>', 'BODY[1.2.3.4.5.6.7.8.9]', '\r', '\n', '\r\n', '.', '..', ' ', '=?utf-8?B?', 'A'.repeat(3000),
];

function mutate(rand: () => number, script: string[], maxBytes: number): Buffer[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: Buffer[] = [];
  let size = 0;
  const steps = 1 + Math.floor(rand() * 30);
  for (let i = 0; i < steps && size < maxBytes; i++) {
    let line = pick(script);
    const r = rand();
    if (r < 0.15) line = Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256))).toString('latin1');
    else if (r < 0.35) line = line.slice(0, Math.floor(rand() * line.length)) + pick(NASTY) + line.slice(Math.floor(rand() * line.length));
    else if (r < 0.45) line = line.replace(/\S+$/, pick(NASTY));
    else if (r < 0.5) line = line.repeat(1 + Math.floor(rand() * 50));
    else if (r < 0.53) line = 'x'.repeat(Math.floor(rand() * 200_000)); // a long line
    const bytes = Buffer.from(rand() < 0.9 ? line + '\r\n' : line, 'latin1');
    out.push(bytes.subarray(0, Math.max(0, maxBytes - size)));
    size += bytes.length;
  }
  return out;
}

/** One fuzz session: connect, send the mutated pieces with small pauses, read whatever comes, go. */
async function throwSession(port: number, pieces: Buffer[], rand: () => number): Promise<number> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  s.on('data', () => undefined);
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  let sent = 0;
  try {
    await Promise.race([new Promise((r) => s.once('connect', r)), closed]);
    for (const p of pieces) {
      if (s.destroyed) break;
      s.write(p);
      sent += p.length;
      if (rand() < 0.3) await new Promise((r) => setTimeout(r, Math.floor(rand() * 30)));
    }
    // leave politely, abruptly, or not at all for a while (the server's timers must cope)
    const r = rand();
    if (r < 0.4) s.end();
    await Promise.race([closed, new Promise((res) => setTimeout(res, r < 0.8 ? 50 : 400))]);
  } finally {
    s.destroy();
  }
  return sent;
}

/** The well-behaved client: deliver one message to bob, see exactly the delivered count over IMAP and POP3. */
async function wellBehavedRound(ports: Record<string, number>, delivered: number, password: string): Promise<{ wrong?: string; refused?: boolean }> {
  const refusedAnswer = /\[UNAVAILABLE\]|\[SYS\/TEMP\]|\[IN-USE\]|^4\d\d /;
  const sender = await MailSender.connect(ports.smtp!, 'smtp');
  try {
    await sender.send('bob@example.com', `Subject: round ${delivered + 1}\r\n\r\nhello\r\n`);
  } catch (err) {
    return refusedAnswer.test(String((err as Error).message)) ? { refused: true } : { wrong: `SMTP: ${(err as Error).message}` };
  } finally {
    sender.close();
  }
  const want = delivered + 1;
  const imap = await LineClient.connect(ports.imap!);
  try {
    await imap.line();
    const login = await imap.command(`a LOGIN bob ${password}`);
    if (!login?.startsWith('a OK')) return refusedAnswer.test(login ?? '') ? { refused: true } : { wrong: `IMAP LOGIN: ${login}` };
    imap.send('b SELECT INBOX');
    const lines = await imap.until((l) => l.startsWith('b '));
    const exists = lines.find((l) => / EXISTS$/.test(l));
    if (!lines.at(-1)!.startsWith('b OK') || exists !== `* ${want} EXISTS`) return { wrong: `IMAP SELECT: ${lines.join(' | ')} (want ${want})` };
    imap.send('c LOGOUT');
  } finally {
    imap.close();
  }
  const pop = await LineClient.connect(ports.pop3!);
  try {
    await pop.line();
    await pop.command('USER bob');
    const pass = await pop.command(`PASS ${password}`);
    if (!pass?.startsWith('+OK')) return refusedAnswer.test(pass ?? '') ? { refused: true } : { wrong: `POP3 PASS: ${pass}` };
    const stat = await pop.command('STAT');
    if (!stat?.startsWith(`+OK ${want} `)) return { wrong: `POP3 STAT: ${stat} (want ${want})` };
    await pop.command('QUIT');
  } finally {
    pop.close();
  }
  return {};
}

const rssMB = (pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number => {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return NaN;
  }
};

export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const bobPassword = `bob-${o.seed}-${Math.random().toString(36).slice(2)}`;
  const server = await startServerProcess(['--memory', '--user', 'alice:fuzz-pass', '--user', `bob:${bobPassword}`, '--max-message-size', '1000000', '--log-level', 'silent']);
  const pid = server.child.pid!;
  let exited = false;
  server.child.once('exit', () => (exited = true));
  const started = Date.now();
  const deadline = started + o.seconds * 1000;
  const result: FuzzResult = {
    seconds: o.seconds, seed: o.seed, workers: o.workers, sessionsThrown: 0, bytesSent: 0, crashes: 0,
    startRssMB: Math.round(rssMB(pid)), peakRssMB: 0, wellBehaved: { rounds: 0, wrong: [], refused: 0, maxRoundMs: 0 },
  };
  const protocols: Protocol[] = ['pop3', 'imap', 'smtp', 'lmtp'];
  const workers = Array.from({ length: o.workers }, async (_, w) => {
    const rand = seeded(o.seed * 7919 + w);
    while (Date.now() < deadline && !exited) {
      const proto = protocols[Math.floor(rand() * protocols.length)]!;
      const pieces = mutate(rand, SCRIPTS[proto], o.maxSessionBytes ?? 512 * 1024);
      result.bytesSent += await throwSession(server.ports[proto], pieces, rand).catch(() => 0);
      result.sessionsThrown++;
    }
  });
  const watcher = (async () => {
    let delivered = 0;
    while (Date.now() < deadline && !exited) {
      const t0 = Date.now();
      const r = await wellBehavedRound(server.ports, delivered, bobPassword).catch((err: Error) => ({ wrong: `no answer: ${err.message}` }) as { wrong?: string; refused?: boolean });
      result.wellBehaved.rounds++;
      result.wellBehaved.maxRoundMs = Math.max(result.wellBehaved.maxRoundMs, Date.now() - t0);
      if (r.refused) result.wellBehaved.refused++;
      else if (r.wrong) result.wellBehaved.wrong.push(r.wrong);
      // a refused delivery may or may not have been stored: recount from the server, not from us
      if (!r.wrong) delivered++;
      if (r.wrong || r.refused) break; // the count is no longer known; one wrong answer is the verdict
      await new Promise((res) => setTimeout(res, 200));
    }
  })();
  const sampler = setInterval(() => (result.peakRssMB = Math.max(result.peakRssMB, Math.round(rssMB(pid)))), 250);
  try {
    await Promise.all([...workers, watcher]);
  } finally {
    clearInterval(sampler);
    result.peakRssMB = Math.max(result.peakRssMB, Math.round(rssMB(pid, 'VmHWM')) || 0);
    result.crashes = exited ? 1 : 0;
    if (!exited) await server.stop();
  }
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string' }, workers: { type: 'string', default: '4' } } });
  const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const r = await runFuzz({ seconds: Number(values.seconds), seed, workers: Number(values.workers) });
  const file = writeResult('fuzz', { ...r, machine: machineInfo() });
  process.stdout.write(
    `fuzz: ${r.sessionsThrown} sessions, ${(r.bytesSent / 1e6).toFixed(1)} MB thrown in ${r.seconds} s (seed ${r.seed}); crashes ${r.crashes}; ` +
      `RSS ${r.startRssMB} → peak ${r.peakRssMB} MB; well-behaved rounds ${r.wellBehaved.rounds}, wrong ${r.wellBehaved.wrong.length}, ` +
      `refused ${r.wellBehaved.refused}, slowest ${r.wellBehaved.maxRoundMs} ms\n${r.wellBehaved.wrong.join('\n')}\nresult: ${file}\n`,
  );
  if (r.crashes || r.wellBehaved.wrong.length) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
