// Smoke check of the Dovecot bench peer: `npx tsx bench/peers/dovecot-check.ts [--big N]`
// Starts Dovecot with 3 users and a 1000-message mbox, checks POP3 STAT/UIDL, IMAP SELECT and an LMTP
// delivery over raw sockets, then times importing an N-message mbox (default 100000) into one user.
import { connect, type Socket } from 'node:net';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cachedMbox } from '../lib/fixture-data.ts';
import { startDovecot } from './dovecot.ts';

class Conn {
  private buf = '';
  private waiters: (() => void)[] = [];
  private constructor(private sock: Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static open(host: string, port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }
  /** Waits until the buffered reply matches `re`, returns and consumes it. */
  async until(re: RegExp, ms = 30_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.buf);
      if (m) {
        const out = this.buf.slice(0, m.index + m[0].length);
        this.buf = this.buf.slice(m.index + m[0].length);
        return out;
      }
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${re}; got: ${this.buf.slice(-300)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }
  async cmd(line: string, re: RegExp): Promise<string> {
    this.sock.write(line + '\r\n');
    return this.until(re);
  }
  close(): void {
    this.sock.end();
  }
}

const ok = (cond: boolean, what: string) => {
  console.log(`${cond ? 'OK  ' : 'FAIL'} ${what}`);
  if (!cond) process.exitCode = 1;
};

async function pop3Stat(host: string, port: number, user: string, pass: string): Promise<{ stat: string; uidls: string[] }> {
  const c = await Conn.open(host, port);
  await c.until(/^\+OK.*\r\n/m);
  await c.cmd(`USER ${user}`, /^\+OK.*\r\n/m);
  await c.cmd(`PASS ${pass}`, /^[+-].*\r\n/m).then((r) => { if (!r.startsWith('+OK')) throw new Error(`PASS: ${r}`); });
  const stat = (await c.cmd('STAT', /^[+-].*\r\n/m)).trim();
  const uidl = await c.cmd('UIDL', /\r\n\.\r\n/);
  c.close();
  return { stat, uidls: uidl.split('\r\n').slice(1, -2) };
}

const bigArg = process.argv.indexOf('--big');
const bigN = bigArg > 0 ? Number(process.argv[bigArg + 1]) : 100_000;
const mbox = await cachedMbox({ messages: 1000, profile: 'small' });
const users = [0, 1, 2].map((i) => ({ name: `user${i}`, password: `pass${i}` }));
let t0 = Date.now();
const peer = await startDovecot({ users, mbox });
console.log(`started in ${((Date.now() - t0) / 1000).toFixed(2)} s: dir=${peer.dir} ports=${JSON.stringify(peer.ports)}`);
try {
  const pids = peer.pids();
  console.log(`pids (${pids.length}): ${pids.join(' ')}`);
  ok(pids.length > 5, 'pids() lists master + children');

  for (const u of users) {
    const { stat, uidls } = await pop3Stat(peer.host, peer.ports.pop3, u.name, u.password);
    console.log(`${u.name} POP3 STAT: ${stat}; UIDL first/last: ${uidls[0]} / ${uidls.at(-1)}`);
    ok(/^\+OK 1000 \d+$/.test(stat) && uidls.length === 1000, `${u.name} POP3 has 1000 messages`);
  }

  const im = await Conn.open(peer.host, peer.ports.imap);
  await im.until(/^\* OK.*\r\n/m);
  await im.cmd('a1 LOGIN user1 pass1', /^a1 .*\r\n/m);
  const sel = await im.cmd('a2 SELECT INBOX', /^a2 .*\r\n/m);
  console.log(sel.split('\r\n').filter((l) => /EXISTS|UIDVALIDITY|UIDNEXT|^a2/.test(l)).join(' | '));
  ok(/^\* 1000 EXISTS/m.test(sel), 'IMAP SELECT INBOX shows 1000 EXISTS');
  // mbox order == UID order: message i of the mbox carries Message-ID <bench-i@tegami.test>
  const f = await im.cmd('a3 FETCH 1,500,1000 (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])', /^a3 .*\r\n/m);
  const ids = [...f.matchAll(/<bench-(\d+)@/g)].map((m) => m[1]);
  ok(ids.join(',') === '0,499,999', `UID order follows mbox order (${ids.join(',')})`);
  await im.cmd('a4 LOGOUT', /^a4 .*\r\n/m);
  im.close();

  const lm = await Conn.open(peer.host, peer.ports.lmtp);
  await lm.until(/^220 .*\r\n/m);
  await lm.cmd('LHLO bench', /^250 .*\r\n/m);
  await lm.cmd('MAIL FROM:<sender@example.com>', /^\d{3} .*\r\n/m);
  const rcpt = await lm.cmd('RCPT TO:<user0@localhost>', /^\d{3} .*\r\n/m);
  await lm.cmd('DATA', /^354 .*\r\n/m);
  const data = await lm.cmd('From: sender@example.com\r\nTo: user0@localhost\r\nSubject: lmtp check\r\n\r\nhello\r\n.', /^\d{3} .*\r\n/m);
  await lm.cmd('QUIT', /^221 .*\r\n/m);
  lm.close();
  console.log(`LMTP RCPT: ${rcpt.trim()} DATA: ${data.trim()}`);
  const after = await pop3Stat(peer.host, peer.ports.pop3, 'user0', 'pass0');
  ok(/^\+OK 1001 /.test(after.stat), `LMTP delivery landed: user0 ${after.stat}`);
} finally {
  await peer.stop();
}
ok(peer.pids().length === 0, 'stop() ended the instance');
rmSync(peer.dir, { recursive: true, force: true });

// Import timing: a big mbox into one user.
const big = await cachedMbox({ messages: bigN, profile: 'small' });
t0 = Date.now();
const p2 = await startDovecot({ users: [{ name: 'big', password: 'big' }], mbox: big });
const secs = (Date.now() - t0) / 1000;
try {
  const n = readdirSync(join(p2.dir, 'mail/big/Maildir/cur')).length;
  const t1 = Date.now();
  const { stat } = await pop3Stat(p2.host, p2.ports.pop3, 'big', 'big');
  console.log(`import of ${bigN} messages (write Maildir + up.sh + doveadm index/status): ${secs.toFixed(2)} s; files=${n}; first POP3 STAT ${stat} in ${Date.now() - t1} ms`);
  ok(stat.startsWith(`+OK ${bigN} `), `big mailbox has ${bigN} messages`);
} finally {
  await p2.stop();
  rmSync(p2.dir, { recursive: true, force: true });
}
