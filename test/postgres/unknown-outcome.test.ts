// The hard case of a failover: a commit reached PostgreSQL (on a Patroni cluster in synchronous mode:
// the standby that is promoted) but its answer was lost with the connection. The client got a
// temporary error, yet the message is stored. tegami must then show it — before it writes the
// account again — and never give its UID to another message; otherwise it would turn up later
// below a UIDNEXT that IMAP clients have already synchronised past.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { MailEngine } from '../../storage/engine/mail-engine.ts';
import { StoreUnavailableError } from '../../storage/index.ts';
import { PostgresBackend } from '../../storage/postgres/postgres-backend.ts';
import { startCommitCutter, type CommitCutter } from '../helpers/commit-cutter.ts';
import { postgresSkipReason, withPostgres } from '../helpers/postgres.ts';

const skip = postgresSkipReason();
const msg = (s: string) => Buffer.from(`Subject: ${s}\r\n\r\nbody ${s}\r\n`);

let cutter: CommitCutter | undefined;
afterEach(async () => {
  await cutter?.close();
  cutter = undefined;
});

describe.skipIf(skip)(`postgres commit of unknown outcome${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const cluster = withPostgres();

  it('shows a message whose commit landed though its answer was lost, before the next write, and never reuses its UID', async () => {
    const url = new URL(await cluster().newDatabase());
    cutter = await startCommitCutter({ host: url.hostname, port: Number(url.port) });
    const viaCutter = `postgres://${url.username}@${cutter.address}${url.pathname}`;
    const store = await MailEngine.open(new PostgresBackend({ connectionString: viaCutter, poolSize: 2 }));
    await store.ensureUser('alice');
    const first = await store.append('alice', 'INBOX', msg('first'));

    const cut = cutter.cutNextCommit('INSERT INTO messages');
    const err = await store.append('alice', 'INBOX', msg('lost answer')).catch((e: unknown) => e);
    await cut;
    expect(err).toBeInstanceOf(StoreUnavailableError);
    // it did land
    const db = new pg.Client(url.href);
    await db.connect();
    const { rows } = await db.query<{ uid: string }>('SELECT uid FROM messages ORDER BY uid');
    await db.end();
    expect(rows.map((r) => Number(r.uid))).toHaveLength(2);
    const landed = Number(rows[1]!.uid);

    const next = await store.append('alice', 'INBOX', msg('next'));
    expect(next.uid).toBeGreaterThan(landed);
    const uids = (await store.snapshot('alice', 'INBOX')).messages.map((m) => m.uid);
    expect(uids).toEqual([first.uid, landed, next.uid]);
    await store.close();

    // and a restart reads the same
    const again = await MailEngine.open(new PostgresBackend({ connectionString: url.href, poolSize: 2 }));
    expect((await again.snapshot('alice', 'INBOX')).messages.map((m) => m.uid)).toEqual(uids);
    await again.close();
  });

  it('treats a commit cut off while it waited for the synchronous standby as of unknown outcome: it is committed', async () => {
    const url = await cluster().newDatabase();
    const store = await MailEngine.open(new PostgresBackend({ connectionString: url, poolSize: 2 }));
    await store.ensureUser('alice');
    const first = await store.append('alice', 'INBOX', msg('first'));
    const admin = new pg.Client(cluster().url);
    await admin.connect();
    const sql = (text: string) => admin.query(text);
    /** UIDs of appends that went through before the setting below took effect. */
    const early: number[] = [];
    try {
      // a standby that never answers: every commit is written locally and then waits for it. The
      // checkpointer applies the reload a moment later, so an append may still go through: try again
      await sql(`ALTER SYSTEM SET synchronous_standby_names = 'gone'`);
      await sql('SELECT pg_reload_conf()');
      let waiting: number | undefined;
      let pending: Promise<unknown> | undefined;
      for (let attempt = 0; attempt < 20 && waiting === undefined; attempt++) {
        let settled = false;
        pending = store.append('alice', 'INBOX', msg('waited')).then((r) => void early.push(r.uid), (e: unknown) => e).finally(() => (settled = true));
        for (let i = 0; i < 40 && waiting === undefined && !settled; i++) {
          await new Promise((r) => setTimeout(r, 50));
          waiting = (await sql(`SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'`)).rows[0]?.pid as number | undefined;
        }
      }
      expect(waiting).toBeDefined();
      // what a fast shutdown or a failover does to it: PostgreSQL answers 57P01, yet it committed
      await sql(`SELECT pg_terminate_backend(${waiting})`);
      expect(await pending).toBeInstanceOf(StoreUnavailableError);
    } finally {
      await sql('ALTER SYSTEM RESET synchronous_standby_names');
      await sql('SELECT pg_reload_conf()');
      await admin.end();
    }
    const next = await store.append('alice', 'INBOX', msg('next'));
    const snap = (await store.snapshot('alice', 'INBOX')).messages.map((m) => m.uid);
    // the one cut off is there, between the early ones and the next
    expect(snap).toHaveLength(early.length + 3);
    expect(snap.slice(0, early.length + 1)).toEqual([first.uid, ...early]);
    expect(snap.at(-1)).toBe(next.uid);
    expect(snap.at(-2)).toBeGreaterThan(Math.max(first.uid, ...early));
    await store.close();
  });
});
