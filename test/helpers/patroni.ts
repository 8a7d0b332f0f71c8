// A throwaway highly available PostgreSQL 15 for the failover tests: 3 etcd members and 3 PostgreSQL
// instances managed by Patroni in synchronous mode, all on 127.0.0.1 with private ports, in one temp
// directory, removed by stop() (and, should the test process die first, killed on its exit).
// Short timings make a failover take seconds: the leader key lives `ttl` seconds in etcd and is renewed
// every `loop_wait`; once the primary's Patroni is gone the key expires and Patroni promotes the
// synchronous standby, which by construction has every acknowledged commit.
// The binaries come from the Debian packages patroni, etcd-server and postgresql-15, which
// `npm run setup:clients` installs. PostgreSQL refuses to run as root, so as root Patroni (and the
// PostgreSQL it starts) run as the `postgres` user, as in test/helpers/postgres.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freePort, PG_BIN, postgresSkipReason, postgresUser } from './postgres.ts';

const PATRONI = '/usr/bin/patroni';
const ETCD = '/usr/bin/etcd';

/** Why the failover tests cannot run here, or undefined when they can. */
export function patroniSkipReason(): string | undefined {
  const pgReason = postgresSkipReason();
  if (pgReason) return pgReason;
  for (const bin of [PATRONI, ETCD]) if (!existsSync(bin)) return `no ${bin}; npm run setup:clients installs patroni and etcd-server`;
  return undefined;
}

export interface PatroniMember {
  readonly name: string;
  /** PostgreSQL's port on 127.0.0.1. */
  readonly port: number;
  /** Patroni's REST API port. */
  readonly apiPort: number;
}

export interface PatroniCluster {
  readonly members: readonly PatroniMember[];
  /** libpq multi-host URL of the database `postgres`, asking for the read-write host. */
  readonly url: string;
  /** Creates an empty database (on the primary, replicated) and returns its multi-host URL. */
  newDatabase(): Promise<string>;
  /** The member Patroni calls leader and that runs, waiting up to `timeoutMs` for one (other than `not`). */
  waitForPrimary(opts?: { not?: string; timeoutMs?: number }): Promise<PatroniMember>;
  /** Waits until a member other than the leader is the synchronous standby and streaming. */
  waitForSyncStandby(timeoutMs?: number): Promise<PatroniMember>;
  /** The postmasters of the members not killed (their children are the sessions and the replication). */
  postmasterPids(): number[];
  /** A sudden death of the machine: SIGKILL to the member's Patroni and to its postmaster. */
  kill(member: PatroniMember): void;
  /** Kills everything and removes the directory. */
  stop(): Promise<void>;
}

/** Patroni's loop: the leader key's lifetime and how often it is renewed, seconds (see above). */
const TTL = 5;
const LOOP_WAIT = 1;
const RETRY_TIMEOUT = 2;
const START_TIMEOUT_MS = 60_000;

interface Spawned {
  child: ChildProcess;
  /** The PostgreSQL data directory a Patroni manages (its postmaster.pid names the postmaster). */
  dataDir?: string;
}

/** Every process any cluster of this test process started, killed on exit whatever happened. */
const everything = new Set<Spawned>();
process.once('exit', () => {
  for (const s of everything) killSpawned(s);
});

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function signal(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function killSpawned(s: Spawned): void {
  // Patroni first, or it would start its PostgreSQL again; the postmaster runs in a session of its
  // own (Patroni starts it with setsid), so it is not a child that dies with Patroni
  signal(s.child.pid);
  if (s.dataDir) signal(postmasterPid(s.dataDir));
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface ClusterMember {
  name: string;
  role: string;
  state: string;
  lag?: number | string;
}

async function clusterView(apiPort: number): Promise<ClusterMember[]> {
  const res = await fetch(`http://127.0.0.1:${apiPort}/cluster`, { signal: AbortSignal.timeout(1000) });
  return ((await res.json()) as { members: ClusterMember[] }).members;
}

export interface PatroniOptions {
  /** PostgreSQL instances (default 3: a synchronous standby is left after a failover). */
  members?: number;
  /** etcd members (default 3). */
  etcdMembers?: number;
  /** fsync on, as a production server runs (benches); tests leave it off. */
  durable?: boolean;
}

export async function startPatroniCluster(opts: PatroniOptions = {}): Promise<PatroniCluster> {
  const reason = patroniSkipReason();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'tegami-patroni-'));
  const owner = process.getuid?.() === 0 ? postgresUser()! : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const procs: Spawned[] = [];
  const log = (name: string) => openSync(join(dir, `${name}.log`), 'a');
  const start = (name: string, cmd: string, args: string[], asPostgres: boolean, dataDir?: string) => {
    const fd = log(name);
    const child = spawn(cmd, args, {
      stdio: ['ignore', fd, fd],
      ...(asPostgres && owner ? { uid: owner.uid, gid: owner.gid } : {}),
      env: { ...process.env, HOME: dir, LC_ALL: 'C.UTF-8' },
    });
    closeSync(fd);
    const s: Spawned = { child, dataDir };
    child.on('error', () => undefined);
    procs.push(s);
    everything.add(s);
  };
  const stop = async () => {
    for (const s of procs) {
      killSpawned(s);
      everything.delete(s);
    }
    await Promise.all(procs.map((s) => (s.child.exitCode ?? s.child.signalCode) !== null ? undefined
      : new Promise((r) => s.child.once('exit', r))));
    // the postmasters are not our children: wait for their pid files' processes to be gone
    for (const s of procs) {
      const pid = s.dataDir && postmasterPid(s.dataDir);
      if (pid) await until(`postmaster ${pid} exits`, 10_000, async () => (existsSync(`/proc/${pid}`) ? undefined : true)).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // etcd: 3 members (a quorum survives one loss, as in production) unless asked otherwise
    const etcdCount = opts.etcdMembers ?? 3;
    const etcd = await Promise.all(Array.from({ length: etcdCount }, async (_, i) => ({ name: `e${i + 1}`, client: await freePort(), peer: await freePort() })));
    const initialCluster = etcd.map((e) => `${e.name}=http://127.0.0.1:${e.peer}`).join(',');
    for (const e of etcd) {
      start(e.name, ETCD, [
        '--name', e.name, '--data-dir', join(dir, e.name),
        '--listen-client-urls', `http://127.0.0.1:${e.client}`, '--advertise-client-urls', `http://127.0.0.1:${e.client}`,
        '--listen-peer-urls', `http://127.0.0.1:${e.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${e.peer}`,
        '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', `tegami-${process.pid}`,
        '--log-level', 'warn',
      ], false);
    }
    await until('etcd has a leader', START_TIMEOUT_MS, async () => {
      const res = await fetch(`http://127.0.0.1:${etcd[0]!.client}/health`, { signal: AbortSignal.timeout(1000) });
      return ((await res.json()) as { health: string }).health === 'true' ? true : undefined;
    });

    const count = opts.members ?? 3;
    const members: PatroniMember[] = await Promise.all(Array.from({ length: count }, async (_, i) => ({ name: `pg${i + 1}`, port: await freePort(), apiPort: await freePort() })));
    for (const m of members) {
      const dataDir = join(dir, m.name);
      const config = {
        scope: `tegami-${process.pid}`,
        name: m.name,
        log: { level: 'INFO' },
        restapi: { listen: `127.0.0.1:${m.apiPort}`, connect_address: `127.0.0.1:${m.apiPort}` },
        etcd3: { hosts: etcd.map((e) => `127.0.0.1:${e.client}`) },
        bootstrap: {
          dcs: {
            ttl: TTL, loop_wait: LOOP_WAIT, retry_timeout: RETRY_TIMEOUT,
            // only the synchronous standby may be promoted, so an acknowledged commit survives
            synchronous_mode: true,
            maximum_lag_on_failover: 16 * 1024 * 1024,
            postgresql: {
              use_pg_rewind: false,
              // fsync off for tests as in test/helpers/postgres.ts: the fault here is a killed process,
              // and the page cache outlives it; what the test checks is the synchronous standby
              parameters: {
                ...(opts.durable ? {} : { fsync: 'off', full_page_writes: 'off' }),
                max_connections: 100, wal_keep_size: '64MB', hot_standby: 'on',
              },
            },
          },
          initdb: [{ encoding: 'UTF8' }, { auth: 'trust' }, 'no-sync'],
        },
        postgresql: {
          listen: `127.0.0.1:${m.port}`,
          connect_address: `127.0.0.1:${m.port}`,
          data_dir: dataDir,
          bin_dir: PG_BIN,
          pgpass: join(dir, `${m.name}.pgpass`),
          authentication: { superuser: { username: 'tegami' }, replication: { username: 'tegami' } },
          parameters: { unix_socket_directories: dir },
          pg_hba: ['local all all trust', 'host all all 127.0.0.1/32 trust', 'host replication all 127.0.0.1/32 trust'],
        },
        tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
      };
      const file = join(dir, `${m.name}.yml`);
      // JSON is YAML
      writeFileSync(file, JSON.stringify(config, null, 1));
      if (owner) chownSync(file, owner.uid, owner.gid);
      start(m.name, PATRONI, [file], true, dataDir);
    }

    const cluster: PatroniCluster = {
      members,
      url: urlFor(members, 'postgres'),
      async newDatabase() {
        const name = `db_${++databases}`;
        const c = new pg.Client(`postgres://tegami@127.0.0.1:${(await cluster.waitForPrimary()).port}/postgres`);
        await c.connect();
        try {
          await c.query(`CREATE DATABASE ${name}`);
        } finally {
          await c.end();
        }
        return urlFor(members, name);
      },
      waitForPrimary({ not, timeoutMs = 30_000 } = {}) {
        return until(`a primary${not ? ` other than ${not}` : ''}`, timeoutMs, async () => {
          for (const m of members) {
            if (m.name === not || !alive.has(m.name)) continue;
            const leader = (await clusterView(m.apiPort).catch(() => [])).find((v) => v.role === 'leader' && v.state === 'running');
            if (leader && leader.name !== not) return members.find((x) => x.name === leader.name);
          }
          return undefined;
        });
      },
      async waitForSyncStandby(timeoutMs = 30_000) {
        const primary = await cluster.waitForPrimary({ timeoutMs });
        return until('a synchronous standby', timeoutMs, async () => {
          const sync = (await clusterView(primary.apiPort)).find((v) => v.role === 'sync_standby' && (v.state === 'streaming' || v.state === 'running'));
          return sync && members.find((x) => x.name === sync.name);
        });
      },
      postmasterPids: () => members.filter((m) => alive.has(m.name)).map((m) => postmasterPid(join(dir, m.name))).filter((p): p is number => p !== undefined),
      kill(member) {
        alive.delete(member.name);
        const s = procs.find((p) => p.dataDir === join(dir, member.name))!;
        killSpawned(s);
      },
      stop,
    };
    let databases = 0;
    const alive = new Set(members.map((m) => m.name));
    // bootstrapped: a leader that runs, and its synchronous standby streaming from it
    await cluster.waitForSyncStandby(START_TIMEOUT_MS);
    return cluster;
  } catch (err) {
    const logs = tails(dir);
    await stop();
    throw new Error(`the Patroni cluster did not start: ${(err as Error).message}\n${logs}`);
  }
}

/** The last lines of every log in the directory, for the error of a cluster that did not start. */
function tails(dir: string): string {
  return readdirSync(dir).filter((f) => f.endsWith('.log'))
    .map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8').split('\n').slice(-15).join('\n')}`).join('\n');
}

function urlFor(members: readonly PatroniMember[], db: string): string {
  return `postgres://tegami@${members.map((m) => `127.0.0.1:${m.port}`).join(',')}/${db}?target_session_attrs=read-write`;
}

/** A cluster started before the tests of the calling file (or describe block) and removed after them. */
export function withPatroniCluster(opts?: PatroniOptions): () => PatroniCluster {
  let cluster: PatroniCluster | undefined;
  beforeAll(async () => {
    cluster = await startPatroniCluster(opts);
  }, START_TIMEOUT_MS + 30_000);
  afterAll(() => cluster?.stop(), 30_000);
  return () => {
    if (!cluster) throw new Error('the Patroni cluster did not start');
    return cluster;
  };
}
