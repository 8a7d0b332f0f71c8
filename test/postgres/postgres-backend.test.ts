// What only the PostgreSQL backend can get wrong (the shared contract is test/storage/, run for it
// too): a transaction that PostgreSQL itself aborts half way leaves nothing, the schema's version is
// checked, and a PostgreSQL restart costs clients a temporary error at most, never the process.
// Several tegami on one database: several-nodes.test.ts.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { MailEngine } from '../../storage/engine/mail-engine.ts';
import { StoreFormatError, StoreUnavailableError } from '../../storage/index.ts';
import { PostgresBackend } from '../../storage/postgres/postgres-backend.ts';
import { postgresSkipReason, withPostgres } from '../helpers/postgres.ts';

const skip = postgresSkipReason();
const msg = (s: string) => Buffer.from(`Subject: ${s}\r\n\r\nbody\r\n`);

describe.skipIf(skip)(`postgres backend${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const cluster = withPostgres();
  let schemas = 0;
  const backend = () => new PostgresBackend({ connectionString: cluster().url, schema: `b_${++schemas}`, poolSize: 2 });

  async function sql<T extends pg.QueryResultRow>(schema: string, text: string): Promise<T[]> {
    const c = new pg.Client({ connectionString: cluster().url, options: `-c search_path=${schema}` });
    await c.connect();
    try {
      return (await c.query<T>(text)).rows;
    } finally {
      await c.end();
    }
  }

  it('rolls back a delivery that PostgreSQL rejects half way: no message, no body left behind', async () => {
    const store = await MailEngine.open(backend());
    await store.ensureUser('alice');
    await store.append('alice', 'INBOX', msg('kept'));
    const before = await store.snapshot('alice', 'INBOX');
    // the body's rows go in before the message row, which PostgreSQL refuses (text cannot hold NUL)
    await expect(store.append('alice', 'INBOX', msg('refused'), { uidl: 'bad\0uidl' })).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.snapshot('alice', 'INBOX')).toEqual(before);
    expect(await sql<{ n: string }>(`b_${schemas}`, 'SELECT count(*) AS n FROM bodies')).toEqual([{ n: '1' }]);
    expect(await sql<{ n: string }>(`b_${schemas}`, 'SELECT count(*) AS n FROM body_chunks')).toEqual([{ n: '1' }]);
    const next = await store.append('alice', 'INBOX', msg('next'));
    expect(next.uid).toBeGreaterThan(before.messages[0]!.uid);
    await store.close();
  });

  it('refuses a database written at a newer schema version', async () => {
    const b = backend();
    const schema = `b_${schemas}`;
    await b.open();
    await b.close();
    await sql(schema, 'UPDATE tegami_schema SET version = version + 1');
    const again = new PostgresBackend({ connectionString: cluster().url, schema, poolSize: 1 });
    await expect(again.open()).rejects.toBeInstanceOf(StoreFormatError);
    await again.close();
  });

  it('answers temporary errors at most while PostgreSQL restarts, then carries on with the next UID', async () => {
    const store = await MailEngine.open(backend());
    await store.ensureUser('alice');
    const first = await store.append('alice', 'INBOX', msg('before'));
    await cluster().restart();
    let after: { uid: number } | undefined;
    const errors: unknown[] = [];
    for (let attempt = 0; attempt < 3 && !after; attempt++) {
      after = await store.append('alice', 'INBOX', msg('after')).catch((e: unknown) => void errors.push(e));
    }
    expect(errors.every((e) => e instanceof StoreUnavailableError)).toBe(true);
    expect(after?.uid).toBeGreaterThan(first.uid);
    expect((await store.snapshot('alice', 'INBOX')).messages.map((m) => m.uid)).toEqual([first.uid, after!.uid]);
    await store.close();
  });
});
