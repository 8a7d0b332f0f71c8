// The PostgreSQL schema, created and migrated by the backend when it opens. Each entry of MIGRATIONS
// takes the schema from one version to the next; the version reached is kept in tegami_schema, and
// a database already at a newer version (written by a newer tegami) is refused, never misread.
// Text columns that the engine orders or compares are COLLATE "C": byte order, as in LevelDB's keys.
//
//   tegami_schema  (version)                        one row
//   tegami_meta    (key → JSON)                     the engine's counters
//   accounts       (name)
//   mailboxes      (account, name) → id, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, …; a rename is del + put
//   messages       (mailbox_id, uid) → modseq, size, internal date, flags, UIDL, body id — the live index
//   expunge_log    (mailbox_id, modseq) → UIDs expunged then, a JSON array (QRESYNC VANISHED, bounded horizon)
//   bodies         (body_id) → size, the analyzer's summary; one per delivered body, shared by recipients
//   body_chunks    (body_id, chunk) → bytes, CHUNK_BYTES each but the last
//   reclaim_queue  (owner, seq) → when queued, bytes, the item: the durable reclaim queue, one per account
//   accounts.version  moved by every commit to the account (tegami_commit, nodes.ts)
//
// "Is this body still used?" is answered by messages' body_id index, so the engine's addRef needs no
// row of its own. Deletions are continuous and in small transactions (the reclaimer), so autovacuum
// keeps up; the tables that churn most get a lower scale factor.
import type { PoolClient } from 'pg';
import { StoreFormatError } from '../errors.ts';

/** Bytes per row of body_chunks: the engine's streaming window, so one window is one row. */
export const CHUNK_BYTES = 256 * 1024;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tegami_meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
   CREATE TABLE accounts (name text COLLATE "C" PRIMARY KEY, created bigint NOT NULL);
   CREATE TABLE mailboxes (
     account text COLLATE "C" NOT NULL,
     name text COLLATE "C" NOT NULL,
     id bigint NOT NULL,
     uidvalidity bigint NOT NULL,
     uidnext bigint NOT NULL,
     highestmodseq bigint NOT NULL,
     special_use text,
     subscribed boolean NOT NULL,
     expunge_horizon bigint,
     PRIMARY KEY (account, name));
   CREATE INDEX mailboxes_id ON mailboxes (id);
   CREATE TABLE messages (
     mailbox_id bigint NOT NULL,
     uid bigint NOT NULL,
     modseq bigint NOT NULL,
     size bigint NOT NULL,
     internal_date double precision NOT NULL,
     flags text[] NOT NULL,
     uidl text NOT NULL,
     body_id text COLLATE "C" NOT NULL,
     PRIMARY KEY (mailbox_id, uid))
     WITH (autovacuum_vacuum_scale_factor = 0.02);
   CREATE INDEX messages_body ON messages (body_id);
   CREATE TABLE expunge_log (
     mailbox_id bigint NOT NULL,
     modseq bigint NOT NULL,
     uids text NOT NULL,
     PRIMARY KEY (mailbox_id, modseq));
   CREATE TABLE bodies (body_id text COLLATE "C" PRIMARY KEY, size bigint NOT NULL, summary text)
     WITH (autovacuum_vacuum_scale_factor = 0.02);
   CREATE TABLE body_chunks (
     body_id text COLLATE "C" NOT NULL,
     chunk integer NOT NULL,
     data bytea NOT NULL,
     PRIMARY KEY (body_id, chunk))
     WITH (autovacuum_vacuum_scale_factor = 0.02);
   -- mail is read by whole chunks and compresses poorly once encoded; skip TOAST compression
   ALTER TABLE body_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
   CREATE TABLE reclaim_queue (
     owner text COLLATE "C" NOT NULL,
     seq bigint NOT NULL,
     at double precision NOT NULL,
     bytes bigint NOT NULL,
     item text NOT NULL,
     PRIMARY KEY (owner, seq))
     WITH (autovacuum_vacuum_scale_factor = 0.02);`,
  // 2: the writer's fencing epoch (writer.ts)
  `CREATE TABLE tegami_writer (
     only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
     epoch bigint NOT NULL,
     holder text NOT NULL,
     since timestamptz NOT NULL);
   INSERT INTO tegami_writer (epoch, holder, since) VALUES (0, '', now());
   CREATE FUNCTION tegami_fence(mine bigint) RETURNS void LANGUAGE plpgsql AS $$
   DECLARE current bigint;
   BEGIN
     -- FOR SHARE: a takeover's UPDATE waits for this transaction, and this one sees a takeover
     -- that committed while it waited
     SELECT epoch INTO current FROM tegami_writer FOR SHARE;
     IF current IS DISTINCT FROM mine THEN
       RAISE EXCEPTION 'fenced: another tegami (writer epoch %) took over this store from epoch %', current, mine
         USING ERRCODE = 'TGFEN';
     END IF;
   END $$;`,
  // 3: several nodes (nodes.ts). Every account has a version, taken from one sequence so that a value
  // is never seen twice (not even after the account is deleted and created again); every commit that
  // touches accounts calls tegami_commit() first, which moves their versions if they are still those
  // the committing node read, checks the counters the same way, and notifies the other nodes. Queue
  // items are numbered by a sequence (each node's own counter knows only its items). The store-wide
  // writer epoch goes: any node writes any account, and the reclaimer's role is an advisory lock.
  `CREATE SEQUENCE tegami_versions;
   ALTER TABLE accounts ADD COLUMN version bigint NOT NULL DEFAULT nextval('tegami_versions');
   CREATE SEQUENCE tegami_reclaim_seq;
   SELECT setval('tegami_reclaim_seq', GREATEST(1, (SELECT max(seq) FROM reclaim_queue)));
   INSERT INTO tegami_meta (key, value) VALUES ('counters', '{"nextMailboxId":1,"lastUidValidity":0}') ON CONFLICT (key) DO NOTHING;
   DROP FUNCTION tegami_fence(bigint);
   DROP TABLE tegami_writer;
   CREATE FUNCTION tegami_commit(channel text, node text, names text[], expected bigint[], created bigint[], gone boolean[],
                                 queued text[], counters text)
   RETURNS TABLE (account text, version bigint) LANGUAGE plpgsql AS $$
   DECLARE
     lost text[] := '{}';
     counters_lost boolean := false;
     i integer;
     v bigint;
   BEGIN
     -- in name order: two commits over the same accounts lock them in the same order
     FOR i IN SELECT t.i FROM unnest(names) WITH ORDINALITY AS t(name, i) ORDER BY t.name COLLATE "C" LOOP
       v := NULL;
       IF expected[i] IS NULL THEN
         BEGIN
           INSERT INTO accounts AS a (name, created) VALUES (names[i], created[i]) RETURNING a.version INTO v;
         EXCEPTION WHEN unique_violation THEN
           v := NULL;
         END;
       ELSIF gone[i] THEN
         DELETE FROM accounts AS a WHERE a.name = names[i] AND a.version = expected[i] RETURNING nextval('tegami_versions') INTO v;
       ELSE
         UPDATE accounts AS a SET version = nextval('tegami_versions') WHERE a.name = names[i] AND a.version = expected[i]
           RETURNING a.version INTO v;
       END IF;
       IF v IS NULL THEN
         lost := lost || names[i];
       ELSE
         account := names[i];
         version := v;
         RETURN NEXT;
         PERFORM pg_notify(channel, node || ' ' || v || ' ' || (names[i] = ANY(queued))::integer || ' ' || names[i]);
       END IF;
     END LOOP;
     IF counters IS NOT NULL THEN
       PERFORM 1 FROM tegami_meta WHERE key = 'counters' AND value::jsonb = counters::jsonb FOR UPDATE;
       counters_lost := NOT FOUND;
     END IF;
     IF cardinality(lost) > 0 OR counters_lost THEN
       RAISE EXCEPTION 'another node committed first' USING ERRCODE = 'TGCON',
         DETAIL = json_build_object('accounts', lost, 'counters', counters_lost)::text;
     END IF;
   END $$;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Any number: it only has to be the same in every tegami that opens the database. */
const MIGRATION_LOCK = 0x7465_6761;

/**
 * Brings the schema to SCHEMA_VERSION in one transaction, under an advisory lock so that two
 * processes opening a new database at once do not both create it.
 */
export async function migrate(client: PoolClient): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS tegami_schema (version integer NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM tegami_schema');
    const have = rows[0]?.version ?? 0;
    if (have > SCHEMA_VERSION) {
      throw new StoreFormatError(`this database is at schema version ${have}, written by a newer tegami; this one reads versions up to ${SCHEMA_VERSION}`);
    }
    for (let v = have; v < SCHEMA_VERSION; v++) await client.query(MIGRATIONS[v]!);
    if (rows.length === 0) await client.query('INSERT INTO tegami_schema (version) VALUES ($1)', [SCHEMA_VERSION]);
    else if (have < SCHEMA_VERSION) await client.query('UPDATE tegami_schema SET version = $1', [SCHEMA_VERSION]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
