// The servers a bench scenario runs against: tegami (a real `tegami serve` process on a data directory
// built like an operator would) and, as a peer, a private tuned Dovecot — same users, same mbox, same
// durability. Each reports its CPU time so figures can be given per operation.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startPostgres, type TempPostgres } from '../../test/helpers/postgres.ts';
import { BIN, startServerProcess } from '../../test/helpers/server-process.ts';
import { processTree, startDovecot } from '../peers/dovecot.ts';
import { benchUsers, cachedMbox, preparePopulatedDataDir, type BenchUser } from './fixture-data.ts';
import { processCpuSeconds } from './machine.ts';

export type Side = 'tegami' | 'dovecot';

export interface Fixture {
  users: number;
  messages: number;
  profile?: 'small' | 'realistic';
}

export interface Target {
  readonly side: Side;
  readonly ports: { pop3: number; imap: number; lmtp: number; smtp?: number };
  readonly users: BenchUser[];
  /** tegami's metrics port, when started with `metrics`. */
  readonly metricsPort?: number;
  /** CPU seconds used so far by the server's whole process tree. */
  cpuSeconds(): number;
  /** The server's processes now (to confine them with a CPU quota, say). */
  pids(): number[];
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** Write a V8 CPU profile of the tegami process into this folder (`node --cpu-prof`). */
  profileDir?: string;
  /** Serve tegami's /metrics (on an ephemeral port). */
  metrics?: boolean;
  /**
   * Where tegami keeps its mail: 'leveldb' (default) or 'postgres' — a private PostgreSQL 15 on
   * loopback with fsync on, filled from the same data directory by `tegami migrate-store` — or
   * 'sharded': two such clusters and a shard map, every other account pinned to the second.
   */
  store?: 'leveldb' | 'postgres' | 'sharded';
}

export async function startTarget(side: Side, fx: Fixture, opts: TargetOptions = {}): Promise<Target> {
  return side === 'tegami' ? startTegami(fx, opts) : startDovecotTarget(fx);
}

async function startTegami(fx: Fixture, opts: TargetOptions): Promise<Target> {
  const { dataDir, users } = await preparePopulatedDataDir(fx);
  const nodeArgs = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
  const pg: TempPostgres[] = [];
  const stopPostgres = () => Promise.all(pg.map((c) => c.stop()));
  const storeArgs: string[] = [];
  if (opts.store === 'postgres' || opts.store === 'sharded') {
    for (let i = opts.store === 'sharded' ? 2 : 1; i > 0; i--) pg.push(await startPostgres({ durable: true }));
    const urls = await Promise.all(pg.map((c) => c.newDatabase()));
    if (opts.store === 'postgres') storeArgs.push('--store', urls[0]!);
    else {
      const map = join(dataDir, 'shards.json');
      const pins = Object.fromEntries(users.filter((_, i) => i % 2 === 1).map((u) => [u.name, 'b']));
      writeFileSync(map, JSON.stringify({ clusters: { a: urls[0], b: urls[1] }, newAccounts: 'a', accounts: pins }));
      storeArgs.push('--shard-map', map);
    }
    // a fixture without mail has no store to copy: tegami starts on the empty database
    if (existsSync(join(dataDir, 'mail'))) {
      await promisify(execFile)(process.execPath, [BIN, 'migrate-store', '--data', dataDir, ...storeArgs]).catch(async (err: unknown) => {
        await stopPostgres();
        throw err;
      });
    }
  }
  const metrics = opts.metrics ? ['--metrics-port', '0'] : [];
  const server = await startServerProcess(['--data', dataDir, ...storeArgs, '--log-level', 'error', ...metrics], 60_000, {
    nodeArgs,
    // the server as it ships: no source-mapped stack traces (test/helpers/tegami-from-source.js)
    env: { TEGAMI_SOURCE_MAPS: '0' },
  })
    .catch(async (err: unknown) => {
      await stopPostgres();
      throw err;
    });
  const pid = server.child.pid!;
  // with PostgreSQL, the database's processes work for tegami too
  const pids = () => [pid, ...pg.flatMap((c) => processTree(c.postmasterPid()))];
  return {
    side: 'tegami',
    ports: server.ports,
    metricsPort: server.ports.metrics,
    users,
    pids,
    cpuSeconds: () => pids().reduce((sum, p) => sum + (processCpuSeconds(p) || 0), 0),
    async stop() {
      await server.stop();
      await stopPostgres();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startDovecotTarget(fx: Fixture): Promise<Target> {
  // The same account names and passwords as preparePopulatedDataDir, and the same generated mbox.
  const users = benchUsers(fx.users);
  const mbox = fx.messages > 0 ? await cachedMbox({ messages: fx.messages, profile: fx.profile ?? 'small' }) : undefined;
  const peer = await startDovecot({ users, mbox });
  return {
    side: 'dovecot',
    ports: peer.ports,
    users,
    cpuSeconds: () => peer.pids().reduce((sum, pid) => sum + (processCpuSeconds(pid) || 0), 0),
    pids: () => peer.pids(),
    async stop() {
      await peer.stop();
      rmSync(peer.dir, { recursive: true, force: true });
    },
  };
}
