// The issue's report, as a test: a data directory on a small tmpfs, filled through SMTP. Every
// message that got 250 must be there; once space is freed, deliveries must be accepted again
// within seconds, without a restart; meanwhile IMAP APPEND and POP3 QUIT with deletions get
// temporary errors and lose nothing; a kill -9 while full loses nothing acknowledged. And with
// the free-space floor, new mail stops with 452 4.3.1 before the disk is full, so deletions still
// commit. A store that cannot be reopened ends the process with status 75, and `tegami user add`
// on a full disk fails cleanly. Needs root (mount); each test mounts and unmounts its own tmpfs.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { imapAppend, imapLogin } from '../helpers/imap.ts';
import { pop3Login, pop3Multi } from '../helpers/pop3.ts';
import { BIN, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { sendRaw } from '../helpers/smtp.ts';

/** Why these tests cannot run here, or undefined. */
function cannotMount(): string | undefined {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const dir = mkdtempSync(join(tmpdir(), 'tegami-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir]);
    return undefined;
  } catch (err) {
    return `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  } finally {
    rmdirSync(dir);
  }
}

const skipReason = cannotMount();
/** ~100 KB, as in the issue. */
const mail = (subject: string) => `From: a@example.com\r\nSubject: ${subject}\r\n\r\n${`${'x'.repeat(998)}\r\n`.repeat(100)}`;

let mounted: string[] = [];
let servers: ServerProcess[] = [];

function mountTmpfs(size: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tegami-disk-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounted.push(dir);
  return dir;
}

async function serve(dir: string, ...args: string[]): Promise<ServerProcess> {
  const s = await startServerProcess(['--data', dir, '--user', 'alice:secret', '--metrics-port', '0', ...args]);
  servers.push(s);
  return s;
}

afterEach(async () => {
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) await s.kill9();
  for (const dir of mounted) {
    execFileSync('umount', [dir]);
    rmdirSync(dir);
  }
  servers = [];
  mounted = [];
});

/** "Server busy" (the governor, on a loaded machine) says nothing about the disk: ask again. */
const BUSY = / 4\.3\.2 /;

/** One delivery, repeated while the server is busy; its reply. */
async function deliver(port: number, subject: string): Promise<string> {
  for (;;) {
    const reply = await sendRaw(port, 'alice@example.com', mail(subject));
    if (!BUSY.test(reply)) return reply;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * SMTP deliveries from a few senders at once until they have been refused for 1.5 s on end:
 * LevelDB frees a little room now and then (a log turned into a table) and free space is sampled
 * once a second, so a first refusal can be followed by a few more acceptances. Returns the accepted
 * subjects, sorted, and the last refusal.
 */
async function fill(port: number, prefix: string): Promise<{ acked: string[]; refusal: string }> {
  const acked: string[] = [];
  let refusal = '';
  let refusedSince: number | undefined;
  let next = 0;
  const sender = async () => {
    while (refusedSince === undefined || Date.now() - refusedSince < 1500) {
      if (next >= 1000) throw new Error('the disk never filled');
      const subject = `${prefix}-${String(next++).padStart(4, '0')}`;
      const reply = await deliver(port, subject);
      if (reply.startsWith('250')) {
        acked.push(subject);
        refusedSince = undefined;
      } else {
        refusal = reply;
        refusedSince ??= Date.now();
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, sender));
  return { acked: acked.sort(), refusal };
}

/** Runs a client step again while the server sheds load (a busy shared machine), up to 10 s. */
async function unlessBusy<T>(step: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await step();
    } catch (err) {
      if (!/server busy/.test(String(err)) || tries > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Subjects of alice's INBOX over POP3, in mailbox order. */
async function subjects(port: number): Promise<string[]> {
  const c = await unlessBusy(() => pop3Login(port, 'alice', 'secret'));
  const count = Number((await c.command('STAT'))!.split(' ')[1]);
  const out: string[] = [];
  for (let i = 1; i <= count; i++) {
    const top = await pop3Multi(c, `TOP ${i} 0`);
    out.push(top.lines.find((l) => l.startsWith('Subject: '))!.slice(9));
  }
  await c.command('QUIT');
  c.close();
  return out;
}

/** POP3 DELE of message 1, then QUIT: the QUIT reply. */
async function deleteFirst(port: number): Promise<string> {
  const c = await unlessBusy(() => pop3Login(port, 'alice', 'secret'));
  expect(await c.command('DELE 1')).toMatch(/^\+OK/);
  const reply = (await c.command('QUIT'))!;
  c.close();
  return reply;
}

/** Delivers every 100 ms until one gets 250; how long that took, ms. */
async function msUntilAccepted(port: number, subject: string, limitMs = 10_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const reply = await deliver(port, subject);
    if (reply.startsWith('250')) return performance.now() - t0;
    expect(reply).toMatch(/^45[12] /);
    if (performance.now() - t0 > limitMs) throw new Error(`still refused after ${limitMs} ms: ${reply}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const readyz = async (s: ServerProcess) => (await fetch(`http://127.0.0.1:${s.ports.metrics}/readyz`)).status;
const metrics = async (s: ServerProcess) => (await fetch(`http://127.0.0.1:${s.ports.metrics}/metrics`)).text();

describe.skipIf(skipReason)(`a data directory on a small tmpfs${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('fills up with 451, keeps every 250, answers APPEND and QUIT with temporary errors, and takes mail again within seconds of space being freed', async () => {
    const dir = mountTmpfs('12m');
    const server = await serve(dir, '--min-free-space', '0'); // no floor: the disk really fills
    const { acked, refusal } = await fill(server.ports.smtp, 'fill');
    expect(refusal).toMatch(/^451 4\.3\.0 /);
    expect(acked.length).toBeGreaterThan(10);

    const imap = await unlessBusy(() => imapLogin(server.ports.imap, 'alice', 'secret'));
    expect(await imapAppend(imap, 'INBOX', Buffer.from(mail('append-while-full')))).toMatch(/^NO \[UNAVAILABLE\] mailbox temporarily unavailable/);
    expect(await deleteFirst(server.ports.pop3)).toMatch(/^-ERR \[SYS\/TEMP\] /);
    const during = await subjects(server.ports.pop3);
    expect([...during].sort()).toEqual(acked); // nothing lost, nothing deleted
    expect(await readyz(server)).toBe(503);
    expect(await metrics(server)).toMatch(/^tegami_store_state\{state="ok"\} 0$/m);

    execFileSync('mount', ['-o', 'remount,size=64m', dir]);
    const ms = await msUntilAccepted(server.ports.smtp, 'after');
    console.info(`disk full → space freed → first 250 after ${ms.toFixed(0)} ms, without a restart (${acked.length} accepted before the disk filled)`);
    expect(ms).toBeLessThan(5000);
    expect(await readyz(server)).toBe(200);
    expect(await metrics(server)).toMatch(/^tegami_store_state\{state="ok"\} 1$/m);
    expect(await imapAppend(imap, 'INBOX', Buffer.from(mail('append-after')))).toMatch(/^OK /);
    imap.close();
    expect(await deleteFirst(server.ports.pop3)).toMatch(/^\+OK/);
    expect(await subjects(server.ports.pop3)).toEqual([...during.slice(1), 'after', 'append-after']);
    expect(server.stderr()).toMatch(/No space left on device.*store failed/);
  });

  it('loses nothing acknowledged when killed with SIGKILL while the disk is full', async () => {
    const dir = mountTmpfs('6m');
    const server = await serve(dir, '--min-free-space', '0');
    const { acked, refusal } = await fill(server.ports.smtp, 'crash');
    expect(refusal).toMatch(/^451 4\.3\.0 /);
    await server.kill9();
    execFileSync('mount', ['-o', 'remount,size=64m', dir]);
    const again = await serve(dir, '--min-free-space', '0');
    expect((await subjects(again.ports.pop3)).sort()).toEqual(acked);
  });

  it('with a free-space floor, refuses new mail with 452 4.3.1 before the disk is full, still commits deletions, and takes mail again once a file is deleted', async () => {
    const dir = mountTmpfs('16m');
    const filler = join(dir, 'filler');
    writeFileSync(filler, Buffer.alloc(4 << 20));
    const server = await serve(dir, '--min-free-space', '6MB');
    const { acked, refusal } = await fill(server.ports.smtp, 'floor');
    expect(refusal).toMatch(/^452 4\.3\.1 /);
    expect(acked.length).toBeGreaterThan(10);
    const imap = await unlessBusy(() => imapLogin(server.ports.imap, 'alice', 'secret'));
    expect(await imapAppend(imap, 'INBOX', Buffer.from(mail('append-below-floor')))).toMatch(/^NO \[OVERQUOTA\] /);
    const before = await subjects(server.ports.pop3);
    expect([...before].sort()).toEqual(acked);
    expect(await deleteFirst(server.ports.pop3)).toMatch(/^\+OK/);
    expect(await readyz(server)).toBe(200);

    unlinkSync(filler);
    const ms = await msUntilAccepted(server.ports.smtp, 'after');
    console.info(`below the floor → 4 MB freed → first 250 after ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(5000);
    expect(await imapAppend(imap, 'INBOX', Buffer.from(mail('append-after')))).toMatch(/^OK /);
    imap.close();
    expect(await subjects(server.ports.pop3)).toEqual([...before.slice(1), 'after', 'append-after']);
  });

  it('exits with status 75, for a supervisor to restart it, when the store cannot be reopened', async () => {
    const dir = mountTmpfs('6m');
    const server = await serve(dir, '--min-free-space', '0', '--store-give-up', '1s');
    const exited = new Promise<number | null>((r) => server.child.once('close', (code) => r(code)));
    // LevelDB reads CURRENT only when it opens: the running store does not notice, its reopen will.
    writeFileSync(join(dir, 'mail', 'CURRENT'), 'garbage');
    const { refusal } = await fill(server.ports.smtp, 'doomed');
    expect(refusal).toMatch(/^451 /);
    expect(await readyz(server)).toBe(503);
    execFileSync('mount', ['-o', 'remount,size=64m', dir]);
    expect(await exited).toBe(75);
    // The operator's line and the log record come from two listeners of one event, in either order.
    expect(server.stderr()).toMatch(/^tegami: the mail store cannot recover .*exiting with status 75/m);
    expect(server.stderr()).toMatch(/"msg":"store cannot recover: restart the process"/);
  });

  it('tegami user add on a full disk says why and leaves users.json whole', () => {
    const dir = mountTmpfs('1m');
    const userAdd = (name: string) => spawnSync(process.execPath, [BIN, 'user', 'add', name, '--password-stdin', '--data', dir], { input: 'pw\n', encoding: 'utf8' });
    expect(userAdd('alice').status).toBe(0);
    const before = readFileSync(join(dir, 'users.json'), 'utf8');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=64k'], { stdio: 'pipe' });
    } catch {
      // dd stops with "No space left on device": the disk is full, as wanted
    }
    const bob = userAdd('bob');
    expect(bob.status).toBe(1);
    expect(bob.stderr).toMatch(/^tegami: cannot write .*users\.json: ENOSPC.*it was left as it was/m);
    expect(readFileSync(join(dir, 'users.json'), 'utf8')).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(['filler', 'users.json']); // no temp file, no lock left behind
  });

  it('tegami serve on a full disk says why it cannot start', async () => {
    const dir = mountTmpfs('1m');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=4k'], { stdio: 'pipe' });
    } catch {
      // dd stops with "No space left on device": the disk is full, as wanted
    }
    await expect(serve(dir)).rejects.toThrow(/exited with 1 before ready; stderr: [^]*tegami: Database failed to open: IO error: .*No space left on device/);
  });
});
