// One writer per database. The engine keeps each account's index in memory and allocates UIDs and
// modseqs there, so two tegami processes writing one database would hand out the same UID twice.
// Opening the store takes the writer role: it bumps the epoch in tegami_writer and keeps the new
// value; every commit calls tegami_fence(epoch) inside its own transaction, which locks that row
// FOR SHARE and aborts the commit if the epoch moved. A node that was taken over (a standby started
// after it was presumed dead, or a partitioned one that comes back) therefore cannot commit anything
// any more, not even a transaction that was in flight at the takeover: its clients get temporary
// errors, and the new writer loaded every commit the old one made. UIDs stay strictly increasing
// and are never given twice, across failover.
import type pg from 'pg';
import { hostname } from 'node:os';

/** Takes the writer role; returns the epoch every commit must present. */
export async function takeWriterRole(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ epoch: number }>(
    'UPDATE tegami_writer SET epoch = epoch + 1, holder = $1, since = now() RETURNING epoch', [`${hostname()}:${process.pid}`]);
  return rows[0]!.epoch;
}
