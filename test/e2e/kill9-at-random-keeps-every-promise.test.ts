// Crash safety (invariants 1, 3, 4): the server is SIGKILLed at random moments while mail is
// delivered, expunged and moved (and the reclaimer frees what was expunged), then restarted. After
// each restart: every message acknowledged (250) and not since removed is there, nothing whose
// expunge was acknowledged comes back, no UID is given twice in a mailbox, and UIDVALIDITY never
// changes. Operations in flight at the kill may have happened or not; only acknowledged ones count.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MailSender } from '../../bench/lib/mail-sender.ts';
import { LineClient } from '../helpers/line-client.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const CYCLES = 3;
const MAILBOXES = ['INBOX', 'Archive'] as const;
type Box = (typeof MAILBOXES)[number];

/** What the clients were told, per message (its Subject is its name). */
type Fate = { where: Box; sure: boolean } | { where: 'gone'; sure: boolean };

interface Seen {
  uidValidity: Partial<Record<Box, string>>;
  /** uid → subject, for every message ever seen in each mailbox */
  uids: Record<Box, Map<number, string>>;
  maxUid: Record<Box, number>;
}

async function imapLogin(port: number): Promise<LineClient> {
  const c = await LineClient.connect(port);
  await c.line(10_000);
  const r = await c.command('a LOGIN alice p', 10_000);
  if (!r?.startsWith('a OK')) throw new Error(`login: ${r}`);
  return c;
}

let tagN = 0;
async function cmd(c: LineClient, text: string): Promise<string[]> {
  const tag = `t${++tagN}`;
  c.send(`${tag} ${text}`);
  return c.until((l) => l.startsWith(`${tag} `), 15_000);
}

/** The mailbox as it is: UIDVALIDITY and uid → subject. */
async function look(c: LineClient, box: Box): Promise<{ validity: string; messages: Map<number, string> }> {
  const sel = await cmd(c, `SELECT ${box}`);
  if (!sel.at(-1)!.includes('OK')) throw new Error(`SELECT ${box}: ${sel.at(-1)}`);
  const validity = /UIDVALIDITY (\d+)/.exec(sel.join('\n'))![1]!;
  const lines = await cmd(c, 'UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
  const messages = new Map<number, string>();
  const text = lines.join('\n');
  for (const m of text.matchAll(/UID (\d+) BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}\nSubject: (m\d+)/g)) messages.set(Number(m[1]), m[2]!);
  return { validity, messages };
}

async function check(port: number, fates: Map<string, Fate>, seen: Seen): Promise<Record<Box, Map<number, string>>> {
  const c = await imapLogin(port);
  const now = {} as Record<Box, Map<number, string>>;
  try {
    for (const box of MAILBOXES) {
      const { validity, messages } = await look(c, box);
      seen.uidValidity[box] ??= validity;
      expect({ box, validity }).toEqual({ box, validity: seen.uidValidity[box] });
      for (const [uid, subject] of messages) {
        const before = seen.uids[box].get(uid);
        if (before !== undefined) expect({ box, uid, subject }).toEqual({ box, uid, subject: before });
        else expect({ box, uid, subject, newUidAboveOld: uid > seen.maxUid[box] }).toEqual({ box, uid, subject, newUidAboveOld: true });
      }
      now[box] = messages;
    }
    const where = new Map<string, Box[]>();
    for (const box of MAILBOXES) for (const s of now[box].values()) where.set(s, [...(where.get(s) ?? []), box]);
    for (const [subject, fate] of fates) {
      const found = where.get(subject) ?? [];
      expect({ subject, copies: found.length <= 1 }).toEqual({ subject, copies: true });
      if (!fate.sure) continue;
      expect({ subject, found }).toEqual({ subject, found: fate.where === 'gone' ? [] : [fate.where] });
    }
    // what is there now is what the next round's operations know
    for (const box of MAILBOXES) {
      for (const [uid, s] of now[box]) {
        seen.uids[box].set(uid, s);
        seen.maxUid[box] = Math.max(seen.maxUid[box], uid);
        const f = fates.get(s);
        if (f && !f.sure) fates.set(s, { where: box, sure: true });
      }
    }
    for (const [s, f] of fates) if (!f.sure && !where.has(s)) fates.set(s, { where: 'gone', sure: true });
  } finally {
    c.close();
  }
  return now;
}

/** Deliveries, expunges and moves until the process dies; records only what was acknowledged. */
async function workload(server: ServerProcess, fates: Map<string, Fate>, now: Record<Box, Map<number, string>>, next: () => number): Promise<void> {
  const deliveries = (async () => {
    const s = await MailSender.connect(server.ports.smtp, 'smtp');
    for (;;) {
      const subject = `m${next()}`;
      fates.set(subject, { where: 'INBOX', sure: false });
      await s.send('alice@example.com', `Subject: ${subject}\r\n\r\n${'body '.repeat(200)}\r\n`);
      fates.set(subject, { where: 'INBOX', sure: true });
    }
  })();
  const changes = (async () => {
    const c = await imapLogin(server.ports.imap);
    await cmd(c, 'SELECT INBOX');
    const inbox = [...now.INBOX];
    for (let i = 0; server.child.exitCode === null && server.child.signalCode === null; i++) {
      const pick = inbox.splice(Math.floor(Math.random() * inbox.length), 1)[0];
      if (!pick) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const [uid, subject] = pick;
      if (i % 2) {
        fates.set(subject, { where: 'gone', sure: false });
        await cmd(c, `UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
        const r = await cmd(c, `UID EXPUNGE ${uid}`);
        if (r.at(-1)!.includes(' OK')) fates.set(subject, { where: 'gone', sure: true });
      } else {
        fates.set(subject, { where: 'Archive', sure: false });
        const r = await cmd(c, `UID MOVE ${uid} Archive`);
        if (r.at(-1)!.includes(' OK')) fates.set(subject, { where: 'Archive', sure: true });
      }
    }
  })();
  // both end when the server dies under them (their connections close)
  await Promise.allSettled([deliveries, changes]);
}

describe('SIGKILL at random moments', () => {
  it('keeps every acknowledged message, brings nothing deleted back, reuses no UID and keeps UIDVALIDITY', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-crash-'));
    const args = ['--data', data, '--user', 'alice:p', '--log-level', 'error'];
    const fates = new Map<string, Fate>();
    const seen: Seen = { uidValidity: {}, uids: { INBOX: new Map(), Archive: new Map() }, maxUid: { INBOX: 0, Archive: 0 } };
    let n = 0;
    let server = await startServerProcess(args, 30_000);
    let now = await check(server.ports.imap, fates, seen);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const running = workload(server, fates, now, () => ++n);
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 1500));
      await server.kill9();
      await running;
      server = await startServerProcess(args, 30_000);
      now = await check(server.ports.imap, fates, seen);
    }
    await server.stop();
    const sure = [...fates.values()].filter((f) => f.sure);
    // the run did something of each kind
    expect(sure.filter((f) => f.where === 'INBOX').length).toBeGreaterThan(5);
    expect(sure.filter((f) => f.where === 'gone').length).toBeGreaterThan(0);
    expect(sure.filter((f) => f.where === 'Archive').length).toBeGreaterThan(0);
  }, 120_000);
});
