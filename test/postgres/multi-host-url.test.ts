// libpq's multi-host store URL (storage/postgres/hosts.ts): the hosts are tried in turn, a dead one or
// one that does not take writes is passed over, and when none will do the error names each host and
// why. The switch to a new primary under load is test/postgres/failover.test.ts (Patroni).
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { MailEngine } from '../../storage/engine/mail-engine.ts';
import { parseTarget } from '../../storage/postgres/hosts.ts';
import { PostgresBackend } from '../../storage/postgres/postgres-backend.ts';
import { freePort, postgresSkipReason, withPostgres } from '../helpers/postgres.ts';

describe('postgres store URL with several hosts (parsing)', () => {
  it('reads the hosts, their ports and target_session_attrs, and leaves pg one host and its own parameters', () => {
    expect(parseTarget('postgres://u:p%40ss@db1:5433,db2,[::1]:6000/mail?target_session_attrs=read-write&sslmode=disable')).toEqual({
      hosts: [{ host: 'db1', port: 5433 }, { host: 'db2', port: 5432 }, { host: '::1', port: 6000 }],
      url: 'postgres://u:p%40ss@db1:5433/mail?sslmode=disable',
      readWrite: true,
    });
    expect(parseTarget('postgresql://h/db')).toEqual({ hosts: [{ host: 'h', port: 5432 }], url: 'postgresql://h:5432/db', readWrite: false });
    expect(parseTarget('postgres://h1,h2/db?target_session_attrs=primary').readWrite).toBe(true);
  });

  it('refuses what it cannot honour, saying what it takes', () => {
    expect(() => parseTarget('postgres://h1,h2/db?target_session_attrs=read-only')).toThrow(/target_session_attrs=read-only is not supported.*read-write/);
    expect(() => parseTarget('postgres://h1,,h2/db')).toThrow(/bad host ""/);
    expect(() => parseTarget('mysql://h/db')).toThrow(/expected postgres:\/\//);
  });
});

const skip = postgresSkipReason();

describe.skipIf(skip)(`postgres store URL with several hosts${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const cluster = withPostgres();
  const hostOf = (url: string) => new URL(url).host;
  const withHosts = (url: string, hosts: string[], attrs = 'read-write') => {
    const u = new URL(url);
    return `postgres://${u.username}@${hosts.join(',')}${u.pathname}?target_session_attrs=${attrs}`;
  };

  it('passes over a host that refuses connections and stores on the next one', async () => {
    const url = await cluster().newDatabase();
    const dead = `127.0.0.1:${await freePort()}`;
    for (const attrs of ['read-write', 'any']) {
      const store = await MailEngine.open(new PostgresBackend({ connectionString: withHosts(url, [dead, hostOf(url)], attrs), schema: `s_${attrs.replace('-', '_')}` }));
      await store.ensureUser('alice');
      const { uid } = await store.append('alice', 'INBOX', Buffer.from('Subject: hi\r\n\r\nbody\r\n'));
      expect(uid).toBe(1);
      await store.close();
    }
  });

  it('refuses a host that does not take writes (a standby), naming each host and why', async () => {
    const url = await cluster().newDatabase();
    const db = new URL(url).pathname.slice(1);
    const admin = new pg.Client(cluster().url);
    await admin.connect();
    // what a hot standby reports: every transaction read-only
    await admin.query(`ALTER DATABASE ${db} SET default_transaction_read_only = on`);
    await admin.end();
    const dead = `127.0.0.1:${await freePort()}`;
    const two = new PostgresBackend({ connectionString: withHosts(url, [dead, hostOf(url)]) });
    await expect(two.open()).rejects.toThrow(`no read-write PostgreSQL among ${dead} (ECONNREFUSED), ${hostOf(url)} (read-only: a standby)`);
    await two.close();
    const one = new PostgresBackend({ connectionString: withHosts(url, [hostOf(url)]) });
    await expect(one.open()).rejects.toThrow(`PostgreSQL at ${hostOf(url)} is read-only now (a standby)`);
    await one.close();
  });
});
