// A commit as SQL. The net changes (net-changes.ts) touch each row once, so their deletes and writes
// do not depend on one another's order and fit in ONE statement of data-modifying CTEs
// (`WITH a AS (DELETE …), b AS (INSERT …) SELECT * FROM tegami_commit(…)`): PostgreSQL runs a single
// statement as its own transaction, so a commit is one round trip, all or nothing. Its primary query
// runs before the sub-statements that it does not read, so tegami_commit() (schema.ts) locks and
// checks the accounts' versions first and refuses the whole commit when another node moved one
// (nodes.ts). Per table and kind it is one multi-row sub-statement over unnest() of array
// parameters. Only a commit with very many parameters (a huge import) becomes several statements,
// which the backend wraps in BEGIN … COMMIT; the first one checks.
import type { CommitExpectations } from '../engine/index.ts';
import type { NetChanges } from './net-changes.ts';
import { split } from './net-changes.ts';
import { CHUNK_BYTES } from './schema.ts';

export interface Statement {
  readonly text: string;
  readonly values: unknown[];
}

/** Parameters per statement before the rest goes into the next one (PostgreSQL allows 65,535). */
const MAX_PARAMS = 30_000;

class Statements {
  readonly done: Statement[] = [];
  private parts: string[] = [];
  private values: unknown[] = [];

  /** One sub-statement; `sql` is given a placeholder for each value, in order. */
  add(values: readonly unknown[], sql: (...p: string[]) => string): void {
    if (this.parts.length && this.values.length + values.length > MAX_PARAMS) this.flush();
    const placeholders = values.map((v) => `$${this.values.push(v)}`);
    this.parts.push(sql(...placeholders));
  }

  /** `check`: the call of tegami_commit() that the first statement makes, with its arguments. */
  constructor(private check: readonly unknown[] | undefined) {}

  /** Ends the statement: what follows sees its effects. */
  flush(): void {
    if (this.parts.length === 0 && !this.check) return;
    let query = 'SELECT NULL AS account, NULL AS version';
    if (this.check) {
      query = `SELECT account, version FROM tegami_commit(${this.check.map((v) => `$${this.values.push(v)}`).join(', ')})`;
      this.check = undefined;
    }
    const ctes = this.parts.length ? `WITH ${this.parts.map((p, i) => `w${i} AS (${p})`).join(',\n')} ` : '';
    this.done.push({ text: ctes + query, values: this.values });
    this.parts = [];
    this.values = [];
  }
}

/** A column: its name, its SQL type, and its value in a row. */
type Column<R> = readonly [name: string, type: string, value: (row: R) => unknown];

/** Deletes the rows with these keys: one sub-statement over unnest() of one array per key column. */
function deleteRows<K>(s: Statements, table: string, keys: readonly K[], columns: readonly Column<K>[]): void {
  if (keys.length === 0) return;
  s.add(columns.map(([, , v]) => keys.map(v)), (...p) =>
    `DELETE FROM ${table} WHERE (${columns.map(([n]) => n).join(', ')}) IN (SELECT * FROM unnest(${columns.map(([, t], i) => `${p[i]}::${t}[]`).join(', ')}))`);
}

/**
 * Writes these rows, replacing any with the same key (the first `keyColumns` columns). `select` turns
 * the unnested columns (named c0, c1, …) into the inserted values where one needs converting.
 */
function upsertRows<R>(s: Statements, table: string, rows: readonly R[], keyColumns: number, columns: readonly Column<R>[], select?: string): void {
  if (rows.length === 0) return;
  const names = columns.map(([n]) => n);
  s.add(columns.map(([, , v]) => rows.map(v)), (...p) =>
    `INSERT INTO ${table} (${names.join(', ')})
     SELECT ${select ?? '*'} FROM unnest(${columns.map(([, t], i) => `${p[i]}::${t}[]`).join(', ')}) AS t(${names.map((_, i) => `c${i}`).join(', ')})
     ON CONFLICT (${names.slice(0, keyColumns).join(', ')}) DO UPDATE SET ${names.slice(keyColumns).map((n) => `${n} = EXCLUDED.${n}`).join(', ')}`);
}

/** How this node signs its commits' notices, and on which channel (nodes.ts). */
export interface Notices {
  readonly channel: string;
  readonly node: string;
}

/**
 * `expect`: the versions the engine's indexes were built on (absent for writes that touch no account's
 * live data: the reclaimer's, a migration's). The accounts it names are created, deleted and moved
 * by tegami_commit(); any others of the commit are written as plain rows.
 */
export function commitStatements(net: NetChanges, notices: Notices, expect?: CommitExpectations): Statement[] {
  const versions = expect?.versions ?? new Map<string, number | null>();
  const checked = [...versions.keys()];
  const s = new Statements(expect && [
    notices.channel, notices.node, checked, checked.map((u) => versions.get(u)),
    checked.map((u) => net.users.get(u)?.row?.created ?? null), checked.map((u) => net.users.get(u)?.row === null),
    [...new Set(net.queued.map((q) => q.owner))], expect.counters ? JSON.stringify(expect.counters) : null,
  ]);
  if (net.expungeLogDropped.size) {
    // a range: alone, before the puts of the same mailboxes that may follow it
    s.add([[...net.expungeLogDropped]], (ids) => `DELETE FROM expunge_log WHERE mailbox_id = ANY(${ids}::bigint[])`);
    s.flush();
  }
  if (net.counters) {
    s.add([JSON.stringify(net.counters)], (v) =>
      `INSERT INTO tegami_meta (key, value) VALUES ('counters', ${v}) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`);
  }
  const users = split(new Map([...net.users].filter(([u]) => !versions.has(u))));
  deleteRows(s, 'accounts', users.deletes, [['name', 'text', (k) => k]]);
  upsertRows(s, 'accounts', users.puts, 1, [['name', 'text', (p) => p.key], ['created', 'bigint', (p) => p.row.created]]);

  const boxes = split(net.mailboxes);
  deleteRows(s, 'mailboxes', boxes.deletes, [['account', 'text', (k) => k.user], ['name', 'text', (k) => k.name]]);
  upsertRows(s, 'mailboxes', boxes.puts, 2, [
    ['account', 'text', (p) => p.key.user], ['name', 'text', (p) => p.row.name], ['id', 'bigint', (p) => p.row.id],
    ['uidvalidity', 'bigint', (p) => p.row.uidValidity], ['uidnext', 'bigint', (p) => p.row.uidNext],
    ['highestmodseq', 'bigint', (p) => p.row.highestModseq], ['special_use', 'text', (p) => p.row.specialUse ?? null],
    ['subscribed', 'boolean', (p) => p.row.subscribed], ['expunge_horizon', 'bigint', (p) => p.row.expungeHorizon ?? null],
  ]);

  const bodies = split(net.bodies);
  deleteRows(s, 'body_chunks', bodies.deletes, [['body_id', 'text', (k) => k]]);
  deleteRows(s, 'bodies', bodies.deletes, [['body_id', 'text', (k) => k]]);
  upsertRows(s, 'bodies', bodies.puts, 1, [
    ['body_id', 'text', (p) => p.key], ['size', 'bigint', (p) => p.row.raw.length],
    ['summary', 'text', (p) => (p.row.summary === undefined ? null : JSON.stringify(p.row.summary))],
  ]);
  addChunks(s, bodies.puts.map((p) => ({ bodyId: p.key, raw: p.row.raw })));

  const messages = split(net.messages);
  deleteRows(s, 'messages', messages.deletes, [['mailbox_id', 'bigint', (k) => k.mailboxId], ['uid', 'bigint', (k) => k.uid]]);
  // flags travel as one JSON array per row: unnest would flatten a two-dimensional text[]
  upsertRows(s, 'messages', messages.puts, 2, [
    ['mailbox_id', 'bigint', (p) => p.key.mailboxId], ['uid', 'bigint', (p) => p.row.uid], ['modseq', 'bigint', (p) => p.row.modseq],
    ['size', 'bigint', (p) => p.row.size], ['internal_date', 'float8', (p) => p.row.internalDate],
    ['flags', 'text', (p) => JSON.stringify(p.row.flags)], ['uidl', 'text', (p) => p.row.uidl], ['body_id', 'text', (p) => p.row.bodyId],
  ], 'c0, c1, c2, c3, c4, ARRAY(SELECT json_array_elements_text(c5::json)), c6, c7');

  const log = split(net.expungeLog);
  deleteRows(s, 'expunge_log', log.deletes, [['mailbox_id', 'bigint', (k) => k.mailboxId], ['modseq', 'bigint', (k) => k.modseq]]);
  upsertRows(s, 'expunge_log', log.puts, 2, [
    ['mailbox_id', 'bigint', (p) => p.key.mailboxId], ['modseq', 'bigint', (p) => p.key.modseq], ['uids', 'text', (p) => JSON.stringify(p.row)],
  ]);

  const dequeued = [...net.dequeued.values()];
  deleteRows(s, 'reclaim_queue', dequeued, [['owner', 'text', (k) => k.owner], ['seq', 'bigint', (k) => k.seq]]);
  if (net.queued.length) {
    const q = net.queued;
    // WITH ORDINALITY: numbered in the engine's order
    s.add([q.map((x) => x.owner), q.map((x) => x.item.at), q.map((x) => (x.item.t === 'body' ? x.item.bytes : 0)), q.map((x) => JSON.stringify(x.item))],
      (owners, at, bytes, items) => `INSERT INTO reclaim_queue (owner, seq, at, bytes, item)
        SELECT o, nextval('tegami_reclaim_seq'), a, b, i
        FROM unnest(${owners}::text[], ${at}::float8[], ${bytes}::bigint[], ${items}::text[]) WITH ORDINALITY AS t(o, a, b, i, n) ORDER BY n`);
  }
  s.flush();
  return s.done;
}

/** Rows per multi-row INSERT of body chunks. */
const CHUNK_ROWS = 1000;

/**
 * Body chunks as multi-row INSERTs, each chunk a parameter of its own: a Buffer parameter travels as
 * binary, inside an array it would travel as hex. A body put again keeps its size in `bodies`, so
 * chunks past it from before are never read (and go with the body).
 */
function addChunks(s: Statements, bodies: { bodyId: string; raw: Buffer }[]): void {
  const rows: unknown[][] = [];
  for (const b of bodies) {
    for (let i = 0, n = 0; i < b.raw.length; i += CHUNK_BYTES, n++) rows.push([b.bodyId, n, b.raw.subarray(i, Math.min(b.raw.length, i + CHUNK_BYTES))]);
  }
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
    const part = rows.slice(i, i + CHUNK_ROWS);
    s.add(part.flat(), (...p) =>
      `INSERT INTO body_chunks (body_id, chunk, data) VALUES ${part.map((_, j) => `(${p[3 * j]}, ${p[3 * j + 1]}::integer, ${p[3 * j + 2]}::bytea)`).join(', ')}
       ON CONFLICT (body_id, chunk) DO UPDATE SET data = EXCLUDED.data`);
  }
}
