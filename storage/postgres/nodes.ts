// Several tegami nodes on one database. Any node serves any account: there is no owner and no proxy.
// Each node keeps the indexes of the accounts it serves in memory, and every commit checks, in its
// own transaction, that the accounts it touches are still at the versions those indexes were built
// on (tegami_commit() in schema.ts; a conflict refuses the whole commit and the engine reloads and
// tries again). What a node needs besides its pool is here, each on a connection of its own:
//
// - Notices. tegami_commit() sends `NOTIFY <channel>, '<node> <version> <queued> <account>'` for each
//   account a commit moved; PostgreSQL delivers it when that commit is durable. Every node LISTENs
//   and reloads the accounts it has loaded whose version moved past its own, so an IDLE session on
//   node B hears of a delivery through node A (measured: bench/nodes-idle.ts). A notice is lost while
//   the listening connection is down, so after each (re)connection the engine compares the versions
//   of all its loaded accounts (`missed`).
// - The reclaim role. Physical deletion must not run twice over one queue, so one node reclaims: the
//   one holding a session-level advisory lock, and its reclaim commits go over that same session. A
//   node that dies loses the lock with its connection (at once on a kill; a vanished host after the
//   TCP keepalive below), and another takes it within ROLE_RETRY_MS. A node whose session is gone can
//   commit nothing more under the role, so two reclaimers never overlap.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { RemoteChange } from '../engine/index.ts';

/** How often a node without the reclaim role tries to take it, ms: the bound on a takeover. */
export const ROLE_RETRY_MS = 2000;
/** First pause before the listening connection is opened again after it broke; doubles up to the max. */
const RELISTEN_MIN_MS = 100;
const RELISTEN_MAX_MS = 5000;
/** Any number: the same in every tegami on the database; the lock is this and the schema's hash. */
const RECLAIM_LOCK = 0x7465_6762;
/**
 * Server-side keepalive on the role's session: PostgreSQL ends the session of a node that vanished
 * (power, network) after about idle + interval × count seconds, and the lock goes with it.
 */
export const KEEPALIVE_SETTINGS = ['tcp_keepalives_idle=10', 'tcp_keepalives_interval=5', 'tcp_keepalives_count=3'];

/** This process's name in notices, unique per backend (tests open two in one process). */
export function nodeName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** '<node> <version> <queued> <account>' → the change, or undefined if it is not one of ours. */
export function parseNotice(payload: string, self: string): RemoteChange | undefined {
  const m = /^(\S+) (\d+) ([01]) (.*)$/s.exec(payload);
  if (!m || m[1] === self) return undefined;
  return { user: m[4]!, version: Number(m[2]), queued: m[3] === '1' };
}

export interface NodeEvents {
  changed(c: RemoteChange): void;
  missed(): void;
  reclaiming(held: boolean): void;
}

/** The listening connection and the reclaim role of one node. */
export class NodeLink {
  private listener: pg.Client | undefined;
  private role: pg.Client | undefined;
  private events: NodeEvents | undefined;
  private relistenMs = RELISTEN_MIN_MS;
  private timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    /** A new, unconnected client; `settings` go to the server as `-c` options. */
    private readonly newClient: (settings: string[]) => pg.Client,
    private readonly channel: string,
    private readonly self: string,
  ) {}

  get reclaiming(): boolean {
    return this.role !== undefined;
  }

  /** Tries to take the reclaim role once (at open, so a lone node reclaims from its first moment). */
  async tryTakeRole(): Promise<boolean> {
    if (this.role || this.closed) return this.role !== undefined;
    const c = this.newClient(['synchronous_commit=off', ...KEEPALIVE_SETTINGS]);
    c.on('error', () => undefined);
    try {
      await c.connect();
      const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext(current_schema())) AS ok', [RECLAIM_LOCK]);
      if (!rows[0]?.ok || this.closed) {
        await c.end();
        return false;
      }
    } catch {
      await c.end().catch(() => undefined);
      return false;
    }
    this.role = c;
    c.once('end', () => this.lostRole(c));
    return true;
  }

  private lostRole(c: pg.Client): void {
    if (this.role !== c) return;
    this.role = undefined;
    this.events?.reclaiming(false);
    this.later(ROLE_RETRY_MS, () => void this.claimRole());
  }

  private async claimRole(): Promise<void> {
    if (await this.tryTakeRole()) this.events?.reclaiming(true);
    else this.later(ROLE_RETRY_MS, () => void this.claimRole());
  }

  /** The session that holds the reclaim role, for the reclaimer's commits. */
  roleSession(): pg.Client {
    if (!this.role) throw new Error('this node does not hold the reclaim role (another node reclaims)');
    return this.role;
  }

  start(events: NodeEvents): void {
    this.events = events;
    if (!this.role) this.later(ROLE_RETRY_MS, () => void this.claimRole());
    void this.listen();
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const c = this.newClient(KEEPALIVE_SETTINGS);
    c.on('error', () => undefined);
    c.on('notification', (n) => {
      const change = n.channel === this.channel && n.payload ? parseNotice(n.payload, this.self) : undefined;
      if (change) this.events?.changed(change);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${escapeId(this.channel)}`);
    } catch {
      await c.end().catch(() => undefined);
      this.relisten();
      return;
    }
    if (this.closed) {
      await c.end().catch(() => undefined);
      return;
    }
    this.listener = c;
    this.relistenMs = RELISTEN_MIN_MS;
    c.once('end', () => {
      if (this.listener === c) this.listener = undefined;
      this.relisten();
    });
    // whatever was committed before LISTEN took effect (or while it was down) is found by versions
    this.events?.missed();
  }

  private relisten(): void {
    const ms = this.relistenMs;
    this.relistenMs = Math.min(RELISTEN_MAX_MS, ms * 2);
    this.later(ms, () => void this.listen());
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref?.();
    this.timers.add(t);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    const clients = [this.listener, this.role].filter((c): c is pg.Client => c !== undefined);
    this.listener = this.role = undefined;
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

const escapeId = (s: string) => `"${s.replace(/"/g, '""')}"`;
