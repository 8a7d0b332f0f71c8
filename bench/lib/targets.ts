// The servers a bench scenario runs against: tegami (a real `tegami serve` process on a data directory
// built like an operator would) and, as a peer, a private tuned Dovecot — same users, same mbox, same
// durability. Each reports its CPU time so figures can be given per operation.
import { existsSync, rmSync } from 'node:fs';
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
   * loopback with fsync on, filled from the same data directory by `tegami migrate-store`.
   */
  store?: 'leveldb' | 'postgres';
}

export async function startTarget(side: Side, fx: Fixture, opts: TargetOptions = {}): Promise<Target> {
  return side === 'tegami' ? startTegami(fx, opts) : startDovecotTarget(fx);
}

async function startTegami(fx: Fixture, opts: TargetOptions): Promise<Target> {
  const { dataDir, users } = await preparePopulatedDataDir(fx);
  const nodeArgs = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
  let pg: TempPostgres | undefined;
  const storeArgs: string[] = [];
  if (opts.store === 'postgres') {
    pg = await startPostgres({ durable: true });
    const url = await pg.newDatabase();
    // a fixture without mail has no store to copy: tegami starts on the empty database
    if (existsSync(join(dataDir, 'mail'))) {
      await promisify(execFile)(process.execPath, [BIN, 'migrate-store', '--data', dataDir, '--store', url]).catch(async (err: unknown) => {
        await pg!.stop();
        throw err;
      });
    }
    storeArgs.push('--store', url);
  }
  const metrics = opts.metrics ? ['--metrics-port', '0'] : [];
  const server = await startServerProcess(['--data', dataDir, ...storeArgs, '--log-level', 'error', ...metrics], 60_000, { nodeArgs })
    .catch(async (err: unknown) => {
      await pg?.stop();
      throw err;
    });
  const pid = server.child.pid!;
  // with PostgreSQL, the database's processes work for tegami too
  const pids = () => [pid, ...(pg ? processTree(pg.postmasterPid()) : [])];
  return {
    side: 'tegami',
    ports: server.ports,
    metricsPort: server.ports.metrics,
    users,
    pids,
    cpuSeconds: () => pids().reduce((sum, p) => sum + (processCpuSeconds(p) || 0), 0),
    async stop() {
      await server.stop();
      await pg?.stop();
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
