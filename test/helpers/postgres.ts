// A throwaway PostgreSQL 15 for tests: initdb into a temp directory, a private port on 127.0.0.1,
// unix sockets in that directory, pg_ctl start (about 2 s), and everything removed by stop().
// The binaries come from the Debian package postgresql-15, which `npm run setup:clients` installs;
// without them the PostgreSQL suites are skipped with a reason (postgresSkipReason).
// PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

const run = promisify(execFile);

export const PG_BIN = process.env.TEGAMI_PG_BIN ?? '/usr/lib/postgresql/15/bin';

const asRoot = process.getuid?.() === 0;

/** Why the PostgreSQL suites cannot run here, or undefined when they can. */
export function postgresSkipReason(): string | undefined {
  if (!existsSync(join(PG_BIN, 'initdb')) || !existsSync(join(PG_BIN, 'pg_ctl'))) {
    return `no PostgreSQL 15 binaries in ${PG_BIN}; npm run setup:clients installs them`;
  }
  if (asRoot && !postgresUser()) return 'running as root and there is no postgres user to run PostgreSQL as';
  return undefined;
}

export function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    // the Debian package creates it
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

export interface TempPostgres {
  /** postgres://tegami@127.0.0.1:PORT/postgres — a superuser, trust authentication on loopback. */
  readonly url: string;
  /** Creates a new, empty database in the cluster and returns its URL. */
  newDatabase(): Promise<string>;
  /** The postmaster's process id (its children are the sessions and background workers). */
  postmasterPid(): number;
  /** Stops the server (fast shutdown: sessions are cut) and starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** `durable`: fsync on, as a production server runs (benches); tests leave it off. */
export async function startPostgres(opts: { durable?: boolean } = {}): Promise<TempPostgres> {
  const reason = postgresSkipReason();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'tegami-pg-'));
  const owner = asRoot ? postgresUser()! : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const pgRun = (bin: string, args: string[]) =>
    owner ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]) : run(join(PG_BIN, bin), args);
  const data = join(dir, 'data');
  const port = await freePort();
  // fsync off for tests: a test cluster is thrown away, and the machine is shared; durability is the
  // backend's synchronous_commit, which the tests do not measure
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200${opts.durable ? '' : ' -c fsync=off -c full_page_writes=off'}`;
  const start = () => pgRun('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', join(dir, 'log'), '-o', settings]);
  try {
    await pgRun('initdb', ['-D', data, '-U', 'tegami', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    await start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const urlFor = (db: string) => `postgres://tegami@127.0.0.1:${port}/${db}`;
  let databases = 0;
  return {
    url: urlFor('postgres'),
    postmasterPid: () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    async newDatabase() {
      const name = `db_${++databases}`;
      const c = new pg.Client(urlFor('postgres'));
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return urlFor(name);
    },
    async restart() {
      await pgRun('pg_ctl', ['stop', '-m', 'fast', '-w', '-D', data]);
      await start();
    },
    async stop() {
      await pgRun('pg_ctl', ['stop', '-m', 'immediate', '-w', '-D', data]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A cluster started before the tests of the calling file (or describe block) and removed after them. */
export function withPostgres(): () => TempPostgres {
  let cluster: TempPostgres | undefined;
  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterAll(() => cluster?.stop());
  return () => {
    if (!cluster) throw new Error('the PostgreSQL cluster did not start');
    return cluster;
  };
}
