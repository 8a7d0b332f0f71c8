// A private Dovecot instance as a benchmark peer: same users and same mbox as tegami, so a bench can
// run one scenario against both. Dovecot is started by ./dovecot/up.sh (loopback only, no TLS, tuned
// for ~500 concurrent connections, mail_fsync = always) and stopped by ./dovecot/down.sh.
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, futimesSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPTS = fileURLToPath(new URL('./dovecot/', import.meta.url));

export interface DovecotPorts {
  pop3: number;
  imap: number;
  lmtp: number;
}

export interface DovecotPeer {
  host: string;
  ports: DovecotPorts;
  dir: string;
  /** The master and all its descendants (login, auth, imap/pop3/lmtp, log, anvil, config, stats...). */
  pids(): number[];
  stop(): Promise<void>;
}

export interface StartDovecotOptions {
  users: { name: string; password: string }[];
  /** mboxrd file imported into every user's INBOX before the server starts. */
  mbox?: string;
  ports?: DovecotPorts;
  /** Instance directory (default: a new one in the OS temp folder). */
  dir?: string;
}

/** Free loopback ports, held open together so the three are distinct. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function mailOwner(): { uid: number; gid: number } {
  if (process.getuid!() !== 0) return { uid: process.getuid!(), gid: process.getgid!() };
  const uid = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
  const gid = Number(execFileSync('getent', ['group', 'nogroup']).toString().split(':')[2]);
  return { uid, gid };
}

const FROM_ = Buffer.from('From ');
const LF = Buffer.from('\n');

/** Maildir info flags (sorted) from mbox Status/X-Status headers, as tegami's importer reads them. */
function maildirFlags(msg: Buffer): string {
  const end = msg.indexOf('\n\n');
  const head = msg.subarray(0, end < 0 ? msg.length : end).toString('latin1');
  const f = new Set<string>();
  for (const m of head.matchAll(/^(?:Status|X-Status):[ \t]*(.*)$/gim)) {
    const v = m[1]!;
    if (v.includes('R')) f.add('S');
    if (v.includes('A')) f.add('R');
    if (v.includes('F')) f.add('F');
    if (v.includes('T')) f.add('D');
    if (v.includes('D')) f.add('T');
  }
  return [...f].sort().join('');
}

/**
 * Streams an mboxrd file and writes each message (LF line ends, ">From " unquoted, the separating
 * blank lines dropped -- the same bytes tegami's importer stores, modulo CRLF) as a file in cur/ of
 * every given Maildir. File names sort in mbox order, so Dovecot assigns UIDs in that order; they carry
 * S= (file size) and W= (CRLF size) so Dovecot never has to read a message to learn its size.
 * INTERNALDATE (the file mtime) comes from the "From " line. Returns the number of messages.
 */
export async function importMboxToMaildirs(mbox: string, maildirs: string[]): Promise<number> {
  for (const md of maildirs) for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(md, sub), { recursive: true });
  const base = Math.floor(Date.now() / 1000) - 10_000_000;
  let count = 0;
  let lines: Buffer[] = [];
  let fromLine: string | undefined;
  const finish = () => {
    while (lines.length > 0 && lines[lines.length - 1]!.length === 0) lines.pop();
    const parts: Buffer[] = [];
    for (const l of lines) parts.push(l, LF);
    const body = Buffer.concat(parts);
    const vsize = body.length + lines.length;
    const name = `${base + count}.M${count}P1.tegami-import,S=${body.length},W=${vsize}:2,${maildirFlags(body)}`;
    const m = /^From \S+\s+(.+)$/.exec(fromLine!);
    const t = m ? Date.parse(m[1]!.trim()) : NaN;
    for (const md of maildirs) {
      const path = join(md, 'cur', name);
      const fd = openSync(path, 'w', 0o600);
      writeSync(fd, body);
      if (Number.isFinite(t)) futimesSync(fd, t / 1000, t / 1000);
      closeSync(fd);
    }
    count++;
  };
  const onLine = (raw: Buffer) => {
    const line = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
    if (line.length >= 5 && line.subarray(0, 5).equals(FROM_)) {
      if (fromLine !== undefined) finish();
      fromLine = line.toString('latin1');
      lines = [];
      return;
    }
    if (fromLine === undefined) return;
    let i = 0;
    while (i < line.length && line[i] === 0x3e) i++;
    lines.push(i > 0 && line.subarray(i, i + 5).equals(FROM_) ? line.subarray(1) : line);
  };
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(mbox, { highWaterMark: 4 << 20 }) as AsyncIterable<Buffer>) {
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      onLine(buf.subarray(start, nl));
      start = nl + 1;
    }
    // copy: the line buffers kept in `lines` must not pin or alias the next chunk
    carry = Buffer.from(buf.subarray(start));
  }
  if (carry.length) onLine(carry);
  if (fromLine !== undefined) finish();
  return count;
}

/** Pids of `root` and all its descendants, from /proc. */
export function processTree(root: number): number[] {
  try {
    readFileSync(`/proc/${root}/stat`);
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(e));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

export async function startDovecot(opts: StartDovecotOptions): Promise<DovecotPeer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tegami-bench-dovecot-'));
  const { uid, gid } = mailOwner();
  for (const u of opts.users) {
    if (!/^[A-Za-z0-9._-]+$/.test(u.name) || /[:\r\n]/.test(u.password)) throw new Error(`unsupported user/password for passwd-file: ${u.name}`);
  }
  mkdirSync(join(dir, 'mail'), { recursive: true });
  writeFileSync(join(dir, 'users'), opts.users.map((u) => `${u.name}:{PLAIN}${u.password}:${uid}:${gid}::${join(dir, 'mail', u.name)}::\n`).join(''), { mode: 0o644 });
  const maildirs = opts.users.map((u) => join(dir, 'mail', u.name, 'Maildir'));
  for (const md of maildirs) for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(md, sub), { recursive: true });
  if (opts.mbox) await importMboxToMaildirs(opts.mbox, maildirs);
  await run('chown', ['-R', `${uid}:${gid}`, join(dir, 'mail')]);

  const [pop3, imap, lmtp] = opts.ports ? [opts.ports.pop3, opts.ports.imap, opts.ports.lmtp] : await freePorts(3);
  const ports = { pop3: pop3!, imap: imap!, lmtp: lmtp! };
  const env = { ...process.env, POP3_PORT: String(ports.pop3), IMAP_PORT: String(ports.imap), LMTP_PORT: String(ports.lmtp), MAIL_UID: String(uid), MAIL_GID: String(gid) };
  const { stdout } = await run(join(SCRIPTS, 'up.sh'), [dir], { env });
  const master = Number(/^pid=(\d+)$/m.exec(stdout)?.[1]);
  if (!master) throw new Error(`up.sh did not report a pid:\n${stdout}`);
  const conf = join(dir, 'dovecot.conf');

  // First sync now (UIDs, index, vsizes), so the first bench session does not pay the initial scan.
  if (opts.mbox) {
    for (const u of opts.users) {
      await run('doveadm', ['-c', conf, 'index', '-u', u.name, 'INBOX']);
      await run('doveadm', ['-c', conf, 'mailbox', 'status', '-u', u.name, 'messages vsize', 'INBOX']);
    }
  }

  let stopped = false;
  return {
    host: '127.0.0.1',
    ports,
    dir,
    pids: () => (stopped ? [] : processTree(master)),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await run(join(SCRIPTS, 'down.sh'), [dir]);
    },
  };
}
