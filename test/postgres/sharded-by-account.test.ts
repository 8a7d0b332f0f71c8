// tegami over two PostgreSQL clusters with a shard map, as an operator runs it (`tegami serve
// --shard-map FILE`): each account's mail is in the cluster the map says (checked in the clusters
// themselves), POP3, IMAP and SMTP work for accounts in both, a map that names an unknown cluster or
// cannot be read stops the start with a message that says so, a cluster added to the map while the
// server runs gets the next new account, and a cluster that is down — at start, or later — gives its
// own accounts temporary errors while the other cluster's accounts are served as before; `tegami migrate-store
// --shard-map` spreads a LevelDB data directory over the clusters without a client noticing.
import { execFile } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LineClient } from '../helpers/line-client.ts';
import { pop3Login, pop3Multi, uidlList } from '../helpers/pop3.ts';
import { postgresSkipReason, startPostgres, type TempPostgres } from '../helpers/postgres.ts';
import { BIN, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { sendMail, sendRaw } from '../helpers/smtp.ts';

const skip = postgresSkipReason();
const tegami = (args: string[], input?: string) => {
  const p = promisify(execFile)(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  if (input !== undefined) p.child.stdin!.end(input);
  return p;
};

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** Writes the map as an editor that saves whole files would (a reader never sees half of it). */
function writeMap(file: string, map: unknown): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(map, null, 2));
  renameSync(`${file}.tmp`, file);
}

/** The accounts a cluster's database holds, and how many messages, asked of PostgreSQL itself. */
async function inCluster(url: string): Promise<Record<string, number>> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    const { rows } = await c.query<{ name: string; n: string }>(
      `SELECT a.name, count(m.uid) AS n FROM accounts a
       LEFT JOIN mailboxes b ON b.account = a.name LEFT JOIN messages m ON m.mailbox_id = b.id
       GROUP BY a.name ORDER BY a.name`);
    return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]));
  } finally {
    await c.end();
  }
}

async function retr(port: number, user: string, n: number): Promise<{ status: string; text: string }> {
  const c = await pop3Login(port, user, 'secret');
  try {
    const { status, lines } = await pop3Multi(c, `RETR ${n}`);
    return { status, text: lines.join('\n') };
  } finally {
    c.close();
  }
}

async function imapSubjects(port: number, user: string): Promise<string[]> {
  const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user, pass: 'secret' }, logger: false });
  await c.connect();
  try {
    await c.mailboxOpen('INBOX');
    const out: string[] = [];
    for await (const m of c.fetch('1:*', { envelope: true, source: true })) {
      expect(m.source?.toString()).toContain(`Subject: ${m.envelope?.subject}`);
      out.push(m.envelope!.subject!);
    }
    return out;
  } finally {
    await c.logout();
  }
}

/**
 * A TCP link to a cluster on a port of its own, open or shut: the cluster is reachable at one
 * address, then not, then again, while PostgreSQL itself runs throughout.
 */
async function relay(): Promise<{ port: number; to: number; open(): Promise<void>; shut(): void }> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  // a free port, left closed: connections to it are refused while the link is shut
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const link = {
    port,
    to: 0,
    open: () => new Promise<void>((r) => {
      server = net.createServer((client) => {
        const upstream = net.connect(link.to, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => undefined).on('close', () => sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', r);
    }),
    shut() {
      server?.close();
      server = undefined;
      for (const s of sockets) s.destroy();
    },
  };
  return link;
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// server and CLI processes (tsx starts them from the sources) and PostgreSQL clusters: seconds each
describe.skipIf(skip)(`tegami sharded by account over two postgres clusters${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 120_000 }, () => {
  let a: TempPostgres;
  let b: TempPostgres;
  beforeAll(async () => {
    [a, b] = await Promise.all([startPostgres(), startPostgres()]);
  }, 60_000);
  afterAll(() => Promise.all([a?.stop(), b?.stop()]));

  const tempDir = () => mkdtempSync(join(tmpdir(), 'tegami-shards-'));

  it('keeps each account in the cluster the map says, and serves POP3, IMAP and SMTP for both', async () => {
    const [urlA, urlB] = await Promise.all([a.newDatabase(), b.newDatabase()]);
    const dir = tempDir();
    const map = join(dir, 'shards.json');
    writeMap(map, { clusters: { a: urlA, b: urlB }, newAccounts: 'a', accounts: { bob: 'b' } });
    server = await startServerProcess(['--shard-map', map, '--data', dir, '--user', 'alice:secret', '--user', 'bob:secret']);
    await sendMail(server.ports.smtp, 'alice@example.org', 'for alice');
    await sendMail(server.ports.smtp, 'bob@example.org', 'for bob');
    // one message to accounts in both clusters: each cluster stores it for its own
    await sendMail(server.ports.smtp, ['alice@example.org', 'bob@example.org'], 'for both');

    expect(await inCluster(urlA)).toEqual({ alice: 2 });
    expect(await inCluster(urlB)).toEqual({ bob: 2 });
    expect(await uidlList(server.ports.pop3, 'alice', 'secret')).toHaveLength(2);
    expect(await uidlList(server.ports.pop3, 'bob', 'secret')).toHaveLength(2);
    const r = await retr(server.ports.pop3, 'bob', 1);
    expect(r.status).toMatch(/^\+OK/);
    expect(r.text).toContain('Subject: for bob');
    expect(await imapSubjects(server.ports.imap, 'alice')).toEqual(['for alice', 'for both']);
    expect(await imapSubjects(server.ports.imap, 'bob')).toEqual(['for bob', 'for both']);

    // a restart finds alice in cluster a by looking (she is not pinned), and changes no UIDL
    const before = await uidlList(server.ports.pop3, 'alice', 'secret');
    await server.stop();
    server = await startServerProcess(['--shard-map', map, '--data', dir, '--user', 'alice:secret', '--user', 'bob:secret']);
    expect(await uidlList(server.ports.pop3, 'alice', 'secret')).toEqual(before);
    expect(await inCluster(urlB)).toEqual({ bob: 2 });
  });

  it('migrate-store --shard-map: a LevelDB data directory is spread over the clusters with every UIDL kept', async () => {
    const data = tempDir();
    const users = ['--user', 'alice:secret', '--user', 'bob:secret'];
    server = await startServerProcess(['--data', data, ...users]);
    await sendMail(server.ports.smtp, 'alice@example.org', 'one');
    await sendMail(server.ports.smtp, 'bob@example.org', 'two');
    await sendMail(server.ports.smtp, ['alice@example.org', 'bob@example.org'], 'three');
    const before = { alice: await uidlList(server.ports.pop3, 'alice', 'secret'), bob: await uidlList(server.ports.pop3, 'bob', 'secret') };
    await server.stop();
    server = undefined;

    const [urlA, urlB] = await Promise.all([a.newDatabase(), b.newDatabase()]);
    const map = join(data, 'shards.json');
    writeMap(map, { clusters: { a: urlA, b: urlB }, newAccounts: 'a', accounts: { bob: 'b' } });
    const out = await tegami(['migrate-store', '--data', data, '--shard-map', map]);
    // the message for both is stored once in each cluster
    expect(out.stdout).toMatch(/^copied 2 accounts, 4 messages, 4 bodies/);
    expect(await inCluster(urlA)).toEqual({ alice: 2 });
    expect(await inCluster(urlB)).toEqual({ bob: 2 });

    server = await startServerProcess(['--shard-map', map, '--data', data, ...users]);
    expect(await uidlList(server.ports.pop3, 'alice', 'secret')).toEqual(before.alice);
    expect(await uidlList(server.ports.pop3, 'bob', 'secret')).toEqual(before.bob);
    expect(await imapSubjects(server.ports.imap, 'bob')).toEqual(['two', 'three']);
  });

  it('refuses to start on a map that names an unknown cluster or cannot be read, and says why', async () => {
    const [urlA, urlB] = await Promise.all([a.newDatabase(), b.newDatabase()]);
    const dir = tempDir();
    const map = join(dir, 'shards.json');
    const start = () => startServerProcess(['--shard-map', map, '--data', dir, '--user', 'alice:secret']);
    writeMap(map, { clusters: { a: urlA, b: urlB }, newAccounts: 'a', accounts: { bob: 'c' } });
    await expect(start()).rejects.toThrow(/server exited with 1 before ready; stderr: tegami: shard map \S+shards\.json: accounts\.bob names cluster "c", which is not in "clusters" \(a, b\)/);
    writeMap(map, { clusters: { a: urlA }, newAccounts: 'b' });
    await expect(start()).rejects.toThrow(/"newAccounts" names cluster "b", which is not in "clusters" \(a\)/);
    writeFileSync(map, '{"clusters": {"a": ');
    await expect(start()).rejects.toThrow(/tegami: shard map \S+shards\.json is not valid JSON/);
    await expect(startServerProcess(['--shard-map', join(dir, 'missing.json'), '--data', dir])).rejects.toThrow(/tegami: cannot read shard map \S+missing\.json: ENOENT/);
    await expect(startServerProcess(['--shard-map', map, '--store', urlA, '--data', dir])).rejects.toThrow(/tegami: --shard-map names the stores itself: leave out --store and --memory/);
    writeMap(map, { clusters: { a: urlA, x: 'mysql://tegami:secret@db.example.org/mail' }, newAccounts: 'a' });
    await expect(start()).rejects.toThrow(/tegami: shard map: cluster "x": unsupported store URL mysql:\/\/tegami:\*\*\*@db\.example\.org\/mail: expected postgres:\/\//);
    // the clusters were not touched: not even tegami's tables were created
    await expect(inCluster(urlA)).rejects.toThrow(/relation "accounts" does not exist/);
    await expect(inCluster(urlB)).rejects.toThrow(/relation "accounts" does not exist/);
  });

  it('starts while a cluster is down, serves the other cluster\'s accounts, and the down one\'s once it is back', async () => {
    const c = await startPostgres();
    const link = await relay();
    try {
      const [urlA, urlC] = await Promise.all([a.newDatabase(), c.newDatabase()]);
      const viaLink = urlC.replace(/:(\d+)\//, (_, port: string) => {
        link.to = Number(port);
        return `:${link.port}/`;
      });
      const dir = tempDir();
      const map = join(dir, 'shards.json');
      writeMap(map, { clusters: { a: urlA, c: viaLink }, newAccounts: 'a', accounts: { bob: 'c' } });
      const args = ['--shard-map', map, '--data', dir, '--user', 'alice:secret', '--user', 'bob:secret'];
      await link.open();
      server = await startServerProcess(args);
      await sendMail(server.ports.smtp, ['alice@example.org', 'bob@example.org'], 'before');
      await server.stop();

      link.shut();
      server = await startServerProcess(args);
      const started = server;
      await until('the log to say so', async () => /cluster \\"c\\" \(postgres:\/\/tegami@127\.0\.0\.1:\d+\/db_1\) cannot be opened.*cluster unavailable: its accounts get temporary errors/.test(started.stderr()));
      expect(await sendRaw(server.ports.smtp, 'bob@example.org', 'Subject: early\r\n\r\nno\r\n')).toMatch(/^451 4\.3\.0 /);
      const pop = await LineClient.connect(server.ports.pop3);
      await pop.line();
      await pop.command('USER bob');
      expect(await pop.command('PASS secret')).toMatch(/^-ERR \[SYS\/TEMP\] /);
      pop.close();
      // alice is not pinned: she is found in cluster a, which answers
      expect(await sendRaw(server.ports.smtp, 'alice@example.org', 'Subject: meanwhile\r\n\r\nyes\r\n')).toMatch(/^250 /);
      expect(await imapSubjects(server.ports.imap, 'alice')).toEqual(['before', 'meanwhile']);

      // back: no restart needed
      await link.open();
      await until('bob\'s cluster to take mail', async () => /^250 /.test(await sendRaw(started.ports.smtp, 'bob@example.org', 'Subject: back\r\n\r\nyes\r\n')));
      expect((await retr(server.ports.pop3, 'bob', 2)).text).toContain('Subject: back');
      expect(await inCluster(urlC)).toEqual({ bob: 2 });
      expect(await inCluster(urlA)).toEqual({ alice: 2 });
    } finally {
      link.shut();
      await c.stop();
    }
  });

  it('sends a new account to a cluster added to the map while the server runs', async () => {
    const [urlA, urlB] = await Promise.all([a.newDatabase(), b.newDatabase()]);
    const dir = tempDir();
    const map = join(dir, 'shards.json');
    writeMap(map, { clusters: { a: urlA }, newAccounts: 'a' });
    server = await startServerProcess(['--shard-map', map, '--data', dir, '--user', 'alice:secret', '--log-level', 'info']);
    await sendMail(server.ports.smtp, 'alice@example.org', 'before');

    writeMap(map, { clusters: { a: urlA, b: urlB }, newAccounts: 'b' });
    const running = server;
    await until('the map to be reloaded', async () => running.stderr().includes('shard map reloaded'));
    await tegami(['user', 'add', 'carol', '--data', dir, '--password-stdin'], 'secret\n');
    await until('carol in cluster b', async () => 'carol' in (await inCluster(urlB)));
    await sendMail(server.ports.smtp, 'carol@example.org', 'for carol');
    await sendMail(server.ports.smtp, 'alice@example.org', 'after');

    expect(await inCluster(urlB)).toEqual({ carol: 1 });
    // alice stays where she is: changing newAccounts moves no account
    expect(await inCluster(urlA)).toEqual({ alice: 2 });
    expect(await imapSubjects(server.ports.imap, 'carol')).toEqual(['for carol']);
    expect(await imapSubjects(server.ports.imap, 'alice')).toEqual(['before', 'after']);
  });

  it('gives the accounts of a cluster that is down temporary errors, and serves the other cluster\'s as before', async () => {
    const c = await startPostgres();
    try {
      const [urlA, urlC] = await Promise.all([a.newDatabase(), c.newDatabase()]);
      const dir = tempDir();
      const map = join(dir, 'shards.json');
      writeMap(map, { clusters: { a: urlA, c: urlC }, newAccounts: 'a', accounts: { bob: 'c' } });
      server = await startServerProcess(['--shard-map', map, '--data', dir, '--user', 'alice:secret', '--user', 'bob:secret']);
      await sendMail(server.ports.smtp, ['alice@example.org', 'bob@example.org'], 'before');
      await c.stop();

      expect(await sendRaw(server.ports.smtp, 'bob@example.org', 'Subject: lost?\r\n\r\nno\r\n')).toMatch(/^451 4\.3\.0 /);
      expect((await retr(server.ports.pop3, 'bob', 1)).status).toMatch(/^-ERR \[SYS\/TEMP\] /);

      expect(await sendRaw(server.ports.smtp, 'alice@example.org', 'Subject: after\r\n\r\nyes\r\n')).toMatch(/^250 /);
      expect((await retr(server.ports.pop3, 'alice', 2)).text).toContain('Subject: after');
      expect(await imapSubjects(server.ports.imap, 'alice')).toEqual(['before', 'after']);
      expect(await inCluster(urlA)).toEqual({ alice: 2 });
    } finally {
      await c.stop();
    }
  });
});
