// Two `tegami serve --store postgres://…` processes on one database, as an operator runs two nodes
// (README "Running several nodes"), with real clients: an IDLE session on node B hears of a delivery
// through node A within a second; a POP3 "leave mail on the server" client that alternates between
// the nodes never downloads a message twice; IMAP flag changes and deliveries on both nodes at once
// leave one mailbox that reads the same through either; and after node A is killed with SIGKILL in
// the middle of a stream of deliveries, node B serves every message A acknowledged, with the same
// UIDLs, and gives new mail higher UIDs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterEach, describe, expect, it } from 'vitest';
import { pop3Login, pop3Multi, uidlList } from '../helpers/pop3.ts';
import { postgresSkipReason, withPostgres } from '../helpers/postgres.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { sendMail } from '../helpers/smtp.ts';

const skip = postgresSkipReason();
const started: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

/** Node A and node B: two processes, each with its own users file, on one database. */
async function twoNodes(url: string): Promise<[ServerProcess, ServerProcess]> {
  const node = () => startServerProcess(['--store', url, '--data', mkdtempSync(join(tmpdir(), 'tegami-node-')), '--user', 'alice:secret']);
  const [a, b] = await Promise.all([node(), node()]);
  started.push(a, b);
  return [a, b];
}

function imap(port: number): ImapFlow {
  return new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user: 'alice', pass: 'secret' }, logger: false });
}

async function until(what: string, ok: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every message through IMAP, as [uid, subject, flags] sorted by UID. */
async function listing(port: number): Promise<[number, string, string[]][]> {
  const c = imap(port);
  await c.connect();
  try {
    await c.mailboxOpen('INBOX', { readOnly: true });
    const out: [number, string, string[]][] = [];
    for await (const m of c.fetch('1:*', { uid: true, envelope: true, flags: true })) out.push([m.uid, m.envelope?.subject ?? '', [...(m.flags ?? [])].sort()]);
    return out;
  } finally {
    await c.logout();
  }
}

describe.skipIf(skip)(`two tegami nodes on one postgres${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 120_000 }, () => {
  const cluster = withPostgres();

  it('an IDLE session on node B hears of a delivery through node A within a second', async () => {
    const [a, b] = await twoNodes(await cluster().newDatabase());
    const c = imap(b.ports.imap);
    await c.connect();
    try {
      await c.mailboxOpen('INBOX');
      const heard: number[] = [];
      c.on('exists', (e: { count: number }) => heard.push(e.count));
      const idle = c.idle();
      await new Promise((r) => setTimeout(r, 100));
      for (let i = 1; i <= 3; i++) {
        await sendMail(a.ports.smtp, 'alice@example.org', `through a ${i}`);
        const acked = Date.now();
        await until(`EXISTS ${i} on node B`, async () => heard.includes(i), 1000);
        expect(Date.now() - acked).toBeLessThan(1000);
      }
      await c.noop();
      await idle;
    } finally {
      await c.logout();
    }
  });

  it('a POP3 client that leaves mail on the server and alternates between the nodes never downloads a message twice', async () => {
    const [a, b] = await twoNodes(await cluster().newDatabase());
    const downloaded: string[] = [];
    const seen = new Map<string, string>();
    /** One poll: UIDL, then RETR of what it has not seen, then QUIT without deleting. */
    const poll = async (port: number) => {
      const c = await pop3Login(port, 'alice', 'secret');
      const { lines } = await pop3Multi(c, 'UIDL');
      for (const l of lines) {
        const [n, uidl] = l.split(' ');
        if (seen.has(uidl!)) continue;
        const { status, lines: body } = await pop3Multi(c, `RETR ${n}`);
        expect(status).toMatch(/^\+OK/);
        seen.set(uidl!, body.find((x) => x.startsWith('Subject:'))!);
        downloaded.push(uidl!);
      }
      await c.command('QUIT');
      c.close();
      return lines.map((l) => l.split(' ')[1]!);
    };
    let sent = 0;
    let previous: string[] = [];
    for (let round = 0; round < 6; round++) {
      const through = round % 2 ? b : a;
      await sendMail(through.ports.smtp, 'alice@example.org', `message ${++sent}`);
      const from = round % 2 ? a : b;
      // the poll goes to the other node, once it has heard of the delivery
      await until('the other node to list it', async () => (await uidlList(from.ports.pop3, 'alice', 'secret')).length === sent);
      const uidls = await poll(from.ports.pop3);
      // old UIDLs stay as they were, in order; the new one comes last
      expect(uidls.slice(0, previous.length)).toEqual(previous);
      expect(uidls).toHaveLength(sent);
      previous = uidls;
    }
    expect(downloaded).toEqual(previous);
    expect(new Set(seen.values()).size).toBe(sent);
    // both nodes list exactly the same
    expect(await uidlList(a.ports.pop3, 'alice', 'secret')).toEqual(await uidlList(b.ports.pop3, 'alice', 'secret'));
  });

  it('flag changes and deliveries on both nodes at once: no UID given twice, the same mailbox through either node', async () => {
    const [a, b] = await twoNodes(await cluster().newDatabase());
    const sent: string[] = [];
    const worker = async (node: ServerProcess, name: string) => {
      const c = imap(node.ports.imap);
      await c.connect();
      try {
        await c.mailboxOpen('INBOX');
        for (let i = 0; i < 10; i++) {
          const subject = `${name} ${i}`;
          await sendMail(node.ports.smtp, 'alice@example.org', subject);
          sent.push(subject);
          // every message this session knows of gets this node's keyword and \Flagged toggled
          await c.noop();
          await c.messageFlagsAdd('1:*', [`$${name}${i % 3}`]);
          await (i % 2 ? c.messageFlagsRemove('1:*', ['\\Flagged']) : c.messageFlagsAdd('1:*', ['\\Flagged']));
        }
      } finally {
        await c.logout();
      }
    };
    await Promise.all([worker(a, 'a'), worker(b, 'b')]);
    let throughA: Awaited<ReturnType<typeof listing>> = [];
    await until('both nodes to agree', async () => {
      throughA = await listing(a.ports.imap);
      return JSON.stringify(throughA) === JSON.stringify(await listing(b.ports.imap));
    });
    const uids = throughA.map(([uid]) => uid);
    expect(new Set(uids).size).toBe(20);
    expect(uids).toEqual([...uids].sort((x, y) => x - y));
    expect(throughA.map(([, s]) => s).sort()).toEqual([...sent].sort());
  });

  it('node A killed with SIGKILL during a stream of deliveries: node B serves every message A acknowledged', async () => {
    const [a, b] = await twoNodes(await cluster().newDatabase());
    const before = await uidlList(b.ports.pop3, 'alice', 'secret');
    const acked: string[] = [];
    let stop = false;
    const stream = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await sendMail(a.ports.smtp, 'alice@example.org', `stream ${i}`);
          acked.push(`stream ${i}`);
        } catch {
          return;
        }
      }
    })();
    await until('a few acknowledged deliveries', async () => acked.length >= 15);
    await a.kill9();
    stop = true;
    await stream;
    started.splice(started.indexOf(a), 1);
    // B serves the account at once: everything A said 250 to is there, with the UIDLs it had
    await until('node B to list every acknowledged message', async () =>
      (await listing(b.ports.imap)).filter(([, s]) => acked.includes(s)).length === acked.length);
    const afterKill = await uidlList(b.ports.pop3, 'alice', 'secret');
    expect(afterKill.slice(0, before.length)).toEqual(before);
    await sendMail(b.ports.smtp, 'alice@example.org', 'after the kill');
    const all = await listing(b.ports.imap);
    const uids = all.map(([uid]) => uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(uids).toEqual([...uids].sort((x, y) => x - y));
    expect(all[all.length - 1]![1]).toBe('after the kill');
    const again = await uidlList(b.ports.pop3, 'alice', 'secret');
    expect(again.slice(0, afterKill.length)).toEqual(afterKill);
  });
});
