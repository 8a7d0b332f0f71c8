// What an operator watches on a PostgreSQL primary while tegami deletes: dead tuples per table
// (pg_stat_user_tables, as autovacuum leaves them) and how far each standby is behind
// (pg_stat_replication: replay_lag, and the WAL bytes not yet replayed). Sampled on a timer.
import pg from 'pg';

export interface PgSample {
  /** Seconds since the sampler started. */
  t: number;
  /** Whatever the caller says is going on (a phase name). */
  phase: string;
  deadTuples: number;
  liveTuples: number;
  /** n_dead_tup of the tables that churn. */
  dead: Record<string, number>;
  autovacuums: number;
  /** The standby furthest behind: replay lag in ms (null when PostgreSQL has nothing to measure) and bytes. */
  replayLagMs: number | null;
  lagBytes: number;
  standbys: number;
}

const CHURNING = ['messages', 'bodies', 'body_chunks', 'expunge_log', 'reclaim_queue', 'mailboxes'];

export interface PgSampler {
  phase: string;
  readonly samples: PgSample[];
  stop(): Promise<void>;
}

/** `url`: a single-host URL of the primary's database. */
export async function samplePostgres(url: string, everyMs: number): Promise<PgSampler> {
  const c = new pg.Client(url);
  await c.connect();
  const t0 = performance.now();
  const sampler: PgSampler = { phase: '', samples: [], stop: async () => undefined };
  const one = async () => {
    const tables = await c.query<{ relname: string; dead: string; live: string; autovacuums: string }>(
      'SELECT relname, n_dead_tup AS dead, n_live_tup AS live, autovacuum_count AS autovacuums FROM pg_stat_user_tables');
    const repl = await c.query<{ lag_ms: number | null; bytes: string | null }>(
      `SELECT extract(epoch FROM replay_lag) * 1000 AS lag_ms, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS bytes FROM pg_stat_replication`);
    const dead: Record<string, number> = {};
    for (const r of tables.rows) if (CHURNING.includes(r.relname)) dead[r.relname] = (dead[r.relname] ?? 0) + Number(r.dead);
    const lags = repl.rows.map((r) => r.lag_ms).filter((x): x is number => x !== null);
    sampler.samples.push({
      t: Math.round(performance.now() - t0) / 1000,
      phase: sampler.phase,
      deadTuples: tables.rows.reduce((n, r) => n + Number(r.dead), 0),
      liveTuples: tables.rows.reduce((n, r) => n + Number(r.live), 0),
      dead,
      autovacuums: tables.rows.reduce((n, r) => n + Number(r.autovacuums), 0),
      replayLagMs: lags.length ? Math.round(Math.max(...lags) * 10) / 10 : null,
      lagBytes: repl.rows.reduce((n, r) => Math.max(n, Number(r.bytes ?? 0)), 0),
      standbys: repl.rows.length,
    });
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      await one().catch(() => undefined);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  sampler.stop = async () => {
    running = false;
    await loop;
    await c.end();
  };
  return sampler;
}

/** Per phase: the peak dead tuples, replay lag and lag bytes seen. */
export function pgPeaks(samples: readonly PgSample[]): Record<string, { samples: number; maxDeadTuples: number; maxReplayLagMs: number | null; maxLagBytes: number; autovacuums: number }> {
  const out: ReturnType<typeof pgPeaks> = {};
  for (const s of samples) {
    const p = (out[s.phase] ??= { samples: 0, maxDeadTuples: 0, maxReplayLagMs: null, maxLagBytes: 0, autovacuums: s.autovacuums });
    p.samples++;
    p.maxDeadTuples = Math.max(p.maxDeadTuples, s.deadTuples);
    if (s.replayLagMs !== null) p.maxReplayLagMs = Math.max(p.maxReplayLagMs ?? 0, s.replayLagMs);
    p.maxLagBytes = Math.max(p.maxLagBytes, s.lagBytes);
  }
  // autovacuum runs during each phase: the count at its last sample minus the one at its first
  const firstByPhase = new Map<string, number>();
  for (const s of samples) {
    if (!firstByPhase.has(s.phase)) firstByPhase.set(s.phase, s.autovacuums);
    out[s.phase]!.autovacuums = s.autovacuums - firstByPhase.get(s.phase)!;
  }
  return out;
}
