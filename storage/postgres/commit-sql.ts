// A commit as SQL. The net changes (net-changes.ts) touch each row once, so their deletes and writes
// do not depend on one another's order and fit in ONE statement of data-modifying CTEs
// (`WITH a AS (DELETE …), b AS (INSERT …) SELECT tegami_fence(epoch)`): PostgreSQL runs a single
// statement as its own transaction, so a commit is one round trip, all or nothing, and refused
// whole when this process is no longer the writer (writer.ts). Per table and kind it is one multi-row
// sub-statement over unnest() of array parameters. Only a commit with very many parameters (a huge
// import) becomes several statements, which the backend wraps in BEGIN … COMMIT.
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

  constructor(private readonly epoch: number) {}

  /** Ends the statement: what follows sees its effects. Each checks the writer's epoch (writer.ts). */
  flush(): void {
    if (this.parts.length === 0) return;
    const fence = `$${this.values.push(this.epoch)}`;
    this.done.push({ text: `WITH ${this.parts.map((p, i) => `w${i} AS (${p})`).join(',\n')} SELECT tegami_fence(${fence})`, values: this.values });
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

/** `epoch`: the writer epoch this process holds; a commit under another one is refused. */
export function commitStatements(net: NetChanges, epoch: number): Statement[] {
  const s = new Statements(epoch);
  if (net.expungeLogDropped.size) {
    // a range: alone, before the puts of the same mailboxes that may follow it
    s.add([[...net.expungeLogDropped]], (ids) => `DELETE FROM expunge_log WHERE mailbox_id = ANY(${ids}::bigint[])`);
    s.flush();
  }
  if (net.counters) {
    s.add([JSON.stringify(net.counters)], (v) =>
      `INSERT INTO tegami_meta (key, value) VALUES ('counters', ${v}) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`);
  }
  const users = split(net.users);
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

  const queue = split(net.reclaimQueue);
  deleteRows(s, 'reclaim_queue', queue.deletes, [['owner', 'text', (k) => k.owner], ['seq', 'bigint', (k) => k.seq]]);
  upsertRows(s, 'reclaim_queue', queue.puts, 2, [
    ['owner', 'text', (p) => p.key.owner], ['seq', 'bigint', (p) => p.key.seq], ['at', 'float8', (p) => p.row.at],
    ['bytes', 'bigint', (p) => (p.row.t === 'body' ? p.row.bytes : 0)], ['item', 'text', (p) => JSON.stringify(p.row)],
  ]);
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
