// The PostgreSQL backend, over the npm `pg` client: the schema (schema.ts), a commit's changes reduced
// to one multi-row statement per table and kind (net-changes.ts) inside one transaction, and reads by
// key ranges that the primary keys serve. Durable commits wait for the WAL flush (synchronous_commit
// on, and on a Patroni cluster in synchronous mode for the standby too); reclaim steps do not
// (synchronous_commit off): they are redone from the durable queue after a crash (invariant 4), and
// their small transactions keep the dead tuples that VACUUM and the replicas must deal with small.
// Several tegami processes may share one database (nodes.ts): this backend is a SharedBackend.
import pg from 'pg';
import { MessageGoneError, StoreFormatError } from '../errors.ts';
import {
  CommitConflictError, CommitOutcomeUnknownError,
  type Backend, type BackendState, type Change, type CommitExpectations, type CommitResult, type Counters, type MailboxRecord,
  type QueuedReclaim, type QueueSummary, type RemoteChange, type SharedBackend, type StoredMailbox, type VersionedAccount,
} from '../engine/index.ts';
import { decodeCounters, decodeReclaimItem, decodeSummary, decodeUids } from '../level/records.ts';
import type { BodyRange, MessageMeta } from '../types.ts';
import { commitStatements, type Statement } from './commit-sql.ts';
import { clientForTarget, parseTarget, type PostgresTarget } from './hosts.ts';
import { netChanges } from './net-changes.ts';
import { NodeLink, nodeName } from './nodes.ts';
import { CHUNK_BYTES, migrate } from './schema.ts';

export interface PostgresBackendOptions {
  /**
   * postgres://user:password@host:port/database (libpq's URL; PG* environment variables fill gaps), or
   * libpq's multi-host form for a Patroni cluster without a proxy, host:port,host:port and
   * ?target_session_attrs=read-write: connections go to whichever host is the primary (hosts.ts).
   */
  connectionString: string;
  /** Keep the tables in this schema (created if missing) instead of the connection's search_path. */
  schema?: string;
  /** Connections in the pool. Default 8: commits go one at a time, reads in parallel. */
  poolSize?: number;
}

const INT8 = 20;
const CONNECT_TIMEOUT_MS = 5000;

/** int8 as a JavaScript number; one that does not fit is a damaged or foreign record, not a rounding. */
function int8(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new StoreFormatError(`stored integer ${v} is out of range: damaged, or written by something else`);
  return n;
}

function typeParsers(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8, int8);
  return types;
}

/** SQLSTATE of tegami_commit()'s refusal (schema.ts). */
const CONFLICT = 'TGCON';

export class PostgresBackend implements Backend, SharedBackend {
  private readonly pool: pg.Pool;
  private readonly target: PostgresTarget;
  /** Connections to the host that takes writes, for the pool and the node's own (hosts.ts). */
  private readonly client: typeof pg.Client;
  /** How this node signs its notices, and where they go: one channel per database and schema. */
  private readonly notices = { channel: 'tegami', node: nodeName() };
  private readonly link: NodeLink;

  constructor(private readonly opts: PostgresBackendOptions) {
    this.target = parseTarget(opts.connectionString);
    this.client = clientForTarget(this.target, CONNECT_TIMEOUT_MS / 2);
    this.pool = this.newPool(opts.poolSize ?? 8);
    if (opts.schema) this.notices.channel = `tegami.${opts.schema}`;
    this.link = new NodeLink((settings) => new this.client(this.config(settings)), this.notices.channel, this.notices.node);
  }

  get shared(): SharedBackend {
    return this;
  }

  get reclaiming(): boolean {
    return this.link.reclaiming;
  }

  private config(settings: string[]): pg.ClientConfig {
    if (this.opts.schema) settings = [...settings, `search_path=${pg.escapeIdentifier(this.opts.schema)}`];
    return {
      connectionString: this.target.url,
      // an unreachable server is a temporary error after a few seconds, not a session that hangs;
      // keepalive notices a peer that vanished (failover) on a connection in use
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      types: typeParsers(),
      ...(settings.length ? { options: settings.map((s) => `-c ${s}`).join(' ') } : {}),
    };
  }

  private newPool(max: number): pg.Pool {
    const pool = new pg.Pool({ ...this.config([]), Client: this.client, max });
    // An idle connection that breaks (server restart, failover) is dropped by the pool; without a
    // listener its error event would end the process. The next query opens a new connection.
    pool.on('error', () => undefined);
    return pool;
  }

  async open(): Promise<BackendState> {
    const client = await this.pool.connect();
    try {
      if (this.opts.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(this.opts.schema)}`);
      await migrate(client);
    } finally {
      client.release();
    }
    const reclaiming = await this.link.tryTakeRole();
    return { counters: await this.counters(), reclaimQueues: reclaiming ? await this.queueSummaries() : [] };
  }

  listen(events: { changed(c: RemoteChange): void; missed(): void; reclaiming(held: boolean): void }): void {
    this.link.start(events);
  }

  async counters(): Promise<Counters> {
    const { rows } = await this.pool.query<{ value: string }>(`SELECT value FROM tegami_meta WHERE key = 'counters'`);
    // migration 3 writes the row
    if (!rows[0]) throw new StoreFormatError('tegami_meta has no counters row');
    return decodeCounters('tegami_meta counters', Buffer.from(rows[0].value));
  }

  async queueSummaries(owners?: readonly string[]): Promise<QueueSummary[]> {
    const { rows } = await this.pool.query<QueueSummary>(
      `SELECT owner, count(*)::bigint AS items, sum(bytes)::bigint AS bytes, min(at) AS "oldestAt", max(seq) AS "maxSeq"
       FROM reclaim_queue ${owners ? 'WHERE owner = ANY($1)' : ''} GROUP BY owner`, owners ? [owners] : []);
    return rows;
  }

  async versions(users: readonly string[]): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ name: string; version: number }>('SELECT name, version FROM accounts WHERE name = ANY($1)', [users]);
    return new Map(rows.map((r) => [r.name, r.version]));
  }

  async load(user: string): Promise<StoredMailbox[] | undefined> {
    return (await this.loadVersioned(user))?.mailboxes;
  }

  async loadVersioned(user: string): Promise<VersionedAccount | undefined> {
    // One snapshot for the account's three tables and its version, each one range read.
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const account = await client.query<{ version: number }>('SELECT version FROM accounts WHERE name = $1', [user]);
      if (account.rowCount === 0) {
        await client.query('COMMIT');
        return undefined;
      }
      const boxes = await client.query<MailboxRow>('SELECT * FROM mailboxes WHERE account = $1 ORDER BY name', [user]);
      const ids = boxes.rows.map((b) => b.id);
      const messages = await client.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ANY($1) ORDER BY mailbox_id, uid`, [ids]);
      const log = await client.query<{ mailbox_id: number; modseq: number }>(
        'SELECT mailbox_id, modseq FROM expunge_log WHERE mailbox_id = ANY($1) ORDER BY mailbox_id, modseq', [ids]);
      await client.query('COMMIT');
      const byBox = new Map<number, StoredMailbox>();
      const out = boxes.rows.map((r) => {
        const stored: StoredMailbox = { record: mailboxOf(r), messages: [], expungeLog: [] };
        byBox.set(r.id, stored);
        return stored;
      });
      for (const m of messages.rows) byBox.get(m.mailbox_id)!.messages.push(metaOf(m));
      for (const e of log.rows) byBox.get(e.mailbox_id)!.expungeLog.push(e.modseq);
      return { mailboxes: out, version: account.rows[0]!.version };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async listUsers(): Promise<string[]> {
    return (await this.pool.query<{ name: string }>('SELECT name FROM accounts ORDER BY name')).rows.map((r) => r.name);
  }

  /**
   * Durable commits go through the pool; the others are the reclaimer's, and go over the session
   * that holds the reclaim role (nodes.ts), with synchronous_commit off.
   */
  async commit(changes: readonly Change[], opts: { durable: boolean; expect?: CommitExpectations }): Promise<CommitResult> {
    const statements = commitStatements(netChanges(changes), this.notices, opts.expect);
    let rows: { account: string | null; version: number | null }[] = [];
    const role = opts.durable ? undefined : this.link.roleSession();
    try {
      if (role) rows = await this.run(role, statements);
      else if (statements.length <= 1) {
        // one statement is a transaction of its own: one round trip
        if (statements[0]) rows = (await this.pool.query(statements[0].text, statements[0].values)).rows;
      } else {
        const client = await this.pool.connect();
        let broken: Error | undefined;
        try {
          rows = await this.run(client, statements);
        } catch (err) {
          // a connection that broke is not handed out again (PostgreSQL's own refusals leave it usable)
          if (!(err instanceof pg.DatabaseError)) broken = err as Error;
          throw err;
        } finally {
          client.release(broken);
        }
      }
    } catch (err) {
      throw commitError(err);
    }
    return { versions: new Map(rows.filter((r) => r.account !== null).map((r) => [r.account!, r.version!])) };
  }

  /** The statements in one transaction on this client; the first one's rows (tegami_commit's). */
  private async run(client: pg.ClientBase, statements: readonly Statement[]): Promise<{ account: string | null; version: number | null }[]> {
    if (statements.length === 0) return [];
    if (statements.length === 1) return (await client.query(statements[0]!.text, statements[0]!.values)).rows;
    await client.query('BEGIN');
    try {
      let first: { account: string | null; version: number | null }[] | undefined;
      for (const s of statements) {
        const { rows } = await client.query(s.text, s.values);
        first ??= rows;
      }
      await client.query('COMMIT');
      return first ?? [];
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  async readBodyRanges(ranges: readonly BodyRange[]): Promise<Buffer[][]> {
    // Every chunk of every range in one query; the body's size says where it ends.
    const ids: string[] = [];
    const chunks: number[] = [];
    const spans = ranges.map((r) => {
      const first = Math.floor(r.start / CHUNK_BYTES);
      const last = r.end > r.start ? Math.ceil(r.end / CHUNK_BYTES) - 1 : first - 1;
      for (let c = first; c <= last; c++) {
        ids.push(r.bodyId);
        chunks.push(c);
      }
      return { first, last };
    });
    const wanted = [...new Set(ranges.map((r) => r.bodyId))];
    const [sizes, rows] = await Promise.all([
      this.pool.query<{ body_id: string; size: number }>('SELECT body_id, size FROM bodies WHERE body_id = ANY($1)', [wanted]),
      ids.length === 0 ? undefined : this.pool.query<{ body_id: string; chunk: number; data: Buffer }>(
        'SELECT c.body_id, c.chunk, c.data FROM unnest($1::text[], $2::int[]) AS k(body_id, chunk) JOIN body_chunks c USING (body_id, chunk)',
        [ids, chunks]),
    ]);
    const size = new Map(sizes.rows.map((r) => [r.body_id, r.size]));
    const data = new Map(rows?.rows.map((r) => [`${r.body_id}\0${r.chunk}`, r.data]));
    return ranges.map((r, i) => {
      const total = size.get(r.bodyId);
      if (total === undefined) {
        if (r.start === 0) throw new MessageGoneError(`message body ${r.bodyId} is gone`);
        return [];
      }
      const out: Buffer[] = [];
      const end = Math.min(r.end, total);
      for (let c = spans[i]!.first; c <= spans[i]!.last && c * CHUNK_BYTES < end; c++) {
        const chunk = data.get(`${r.bodyId}\0${c}`);
        // the body went between the two reads above
        if (!chunk) throw new MessageGoneError(`message body ${r.bodyId} is gone`);
        const from = Math.max(0, r.start - c * CHUNK_BYTES);
        const to = Math.min(chunk.length, end - c * CHUNK_BYTES);
        if (to > from) out.push(chunk.subarray(from, to));
      }
      return out;
    });
  }

  async readSummary(bodyId: string): Promise<unknown> {
    const { rows } = await this.pool.query<{ summary: string | null }>('SELECT summary FROM bodies WHERE body_id = $1', [bodyId]);
    const s = rows[0]?.summary;
    return s == null ? undefined : decodeSummary(`summary of body ${bodyId}`, Buffer.from(s));
  }

  async expungedSince(mailboxId: number, modseq: number): Promise<number[]> {
    const { rows } = await this.pool.query<{ modseq: number; uids: string }>(
      'SELECT modseq, uids FROM expunge_log WHERE mailbox_id = $1 AND modseq > $2 ORDER BY modseq', [mailboxId, modseq]);
    return rows.flatMap((r) => decodeUids(`expunge_log (${mailboxId}, ${r.modseq})`, Buffer.from(r.uids)));
  }

  async queued(owner: string, limit: number): Promise<QueuedReclaim[]> {
    const { rows } = await this.pool.query<QueueRow>(
      'SELECT owner, seq, item FROM reclaim_queue WHERE owner = $1 ORDER BY seq LIMIT $2', [owner, Number.isFinite(limit) ? limit : null]);
    return rows.map(queuedOf);
  }

  async leftInMailbox(mailboxId: number, limit: number): Promise<MessageMeta[]> {
    const { rows } = await this.pool.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 ORDER BY uid LIMIT $2`, [mailboxId, limit]);
    return rows.map(metaOf);
  }

  async referenced(bodyIds: readonly string[]): Promise<Set<string>> {
    if (bodyIds.length === 0) return new Set();
    const { rows } = await this.pool.query<{ body_id: string }>(
      'SELECT b AS body_id FROM unnest($1::text[]) AS b WHERE EXISTS (SELECT 1 FROM messages WHERE body_id = b)', [[...new Set(bodyIds)]]);
    return new Set(rows.map((r) => r.body_id));
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.link.close()]);
  }
}

/**
 * What a failed commit means to the engine. An error PostgreSQL answered with (a SQLSTATE) was the
 * statement's: nothing of it was applied, and TGCON says why (schema.ts, tegami_commit). Without
 * one the answer never came (a broken connection, a failover): the commit may have been applied.
 */
function commitError(err: unknown): Error {
  if (!(err instanceof pg.DatabaseError)) return new CommitOutcomeUnknownError(`commit outcome unknown: ${(err as Error).message}`, { cause: err });
  if (err.code !== CONFLICT) return err;
  const d = JSON.parse(err.detail ?? '{}') as { accounts?: string[]; counters?: boolean };
  return new CommitConflictError(d.accounts ?? [], d.counters === true);
}

// ---- rows ---------------------------------------------------------------------------------------

const MESSAGE_COLUMNS = 'mailbox_id, uid, modseq, size, internal_date, flags, uidl, body_id';

interface MessageRow {
  mailbox_id: number;
  uid: number;
  modseq: number;
  size: number;
  internal_date: number;
  flags: string[];
  uidl: string;
  body_id: string;
}

interface MailboxRow {
  account: string;
  name: string;
  id: number;
  uidvalidity: number;
  uidnext: number;
  highestmodseq: number;
  special_use: string | null;
  subscribed: boolean;
  expunge_horizon: number | null;
}

interface QueueRow {
  owner: string;
  seq: number;
  item: string;
}

const metaOf = (m: MessageRow): MessageMeta => ({
  uid: m.uid, size: m.size, internalDate: m.internal_date, flags: m.flags, modseq: m.modseq, uidl: m.uidl, bodyId: m.body_id,
});

function mailboxOf(r: MailboxRow): MailboxRecord {
  const rec: MailboxRecord = {
    id: r.id, name: r.name, uidValidity: r.uidvalidity, uidNext: r.uidnext, highestModseq: r.highestmodseq, subscribed: r.subscribed,
  };
  if (r.special_use !== null) rec.specialUse = r.special_use;
  if (r.expunge_horizon !== null) rec.expungeHorizon = r.expunge_horizon;
  return rec;
}

// The record checks are LevelDB's: the same JSON, checked the same way; the label names the row.
const queuedOf = (r: QueueRow): QueuedReclaim =>
  ({ owner: r.owner, seq: r.seq, item: decodeReclaimItem(`reclaim_queue (${r.owner}, ${r.seq})`, Buffer.from(r.item)) });
