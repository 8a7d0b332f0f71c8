// The servers a bench scenario runs against: tegami (a real `tegami serve` process on a data directory
// built like an operator would) and, as a peer, a private tuned Dovecot — same users, same mbox, same
// durability. Each reports its CPU time so figures can be given per operation.
import { rmSync } from 'node:fs';
import { startServerProcess } from '../../test/helpers/server-process.ts';
import { startDovecot } from '../peers/dovecot.ts';
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
}

export async function startTarget(side: Side, fx: Fixture, opts: TargetOptions = {}): Promise<Target> {
  return side === 'tegami' ? startTegami(fx, opts) : startDovecotTarget(fx);
}

async function startTegami(fx: Fixture, opts: TargetOptions): Promise<Target> {
  const { dataDir, users } = await preparePopulatedDataDir(fx);
  const nodeArgs = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
  const metrics = opts.metrics ? ['--metrics-port', '0'] : [];
  const server = await startServerProcess(['--data', dataDir, '--log-level', 'error', ...metrics], 60_000, { nodeArgs });
  const pid = server.child.pid!;
  return {
    side: 'tegami',
    ports: server.ports,
    metricsPort: server.ports.metrics,
    users,
    cpuSeconds: () => processCpuSeconds(pid),
    pids: () => [pid],
    async stop() {
      await server.stop();
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
