// Every storage backend, for the suites that must hold for all of them (store-conformance and the
// fault tests). A new backend adds one entry here; storage/README.md says what it must pass.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { MailEngine, type Backend, type EngineOptions } from '../../storage/engine/index.ts';
import { classicDb } from '../../storage/level/classic-db.ts';
import { LevelBackend } from '../../storage/level/level-backend.ts';
import { MemoryBackend } from '../../storage/memory/memory-backend.ts';
import { PostgresBackend } from '../../storage/postgres/postgres-backend.ts';
import { postgresSkipReason, withPostgres } from '../helpers/postgres.ts';
import type { Store } from '../../storage/index.ts';

export interface BackendUnderTest {
  /** A new backend object; a durable one opens the same data each time (a restart). */
  backend(): Backend;
  /** The engine over backend(): a new store, or for a durable backend the same data again. */
  open(opts?: EngineOptions): Promise<Store>;
  /** Whether data survives close() and a crash (the restart tests run only then). */
  durable: boolean;
}

const dirs: string[] = [];

/** Call from afterEach: removes the directories of the durable backends made meanwhile. */
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tegami-store-'));
  dirs.push(d);
  return d;
}

function underTest(backend: () => Backend, durable: boolean): BackendUnderTest {
  return { backend, durable, open: (opts) => MailEngine.open(backend(), opts) };
}

/** `make(dir)`: a durable backend keeps its data in `dir` (default: a new temporary directory). */
export const backends: { name: string; durable: boolean; make: (dir?: string) => BackendUnderTest }[] = [
  {
    name: 'leveldb',
    durable: true,
    make: (dir) => {
      const path = dir ?? tempDir();
      return underTest(() => new LevelBackend(classicDb(new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })), true), true);
    },
  },
  { name: 'memory', durable: false, make: () => underTest(() => new MemoryBackend(), false) },
];

// PostgreSQL: one throwaway cluster per test file, one schema per store, named after the store's
// directory (`make(dir)`), so that a restart — or a child process of the test, like crash-writer.ts,
// which finds the cluster in TEGAMI_TEST_POSTGRES — opens the same data. Without the binaries the
// entry is left out and a skipped suite says why, unless TEGAMI_REQUIRE_POSTGRES is set (npm run
// test:postgres, in CI after setup:clients installed them).
const ENV_URL = 'TEGAMI_TEST_POSTGRES';
const pgSkip = postgresSkipReason();
const inheritedUrl = process.env[ENV_URL];

function postgresEntry(url: () => string) {
  backends.push({
    name: 'postgres',
    durable: true,
    make: (dir) => {
      const schema = `store_${createHash('sha256').update(dir ?? tempDir()).digest('hex').slice(0, 16)}`;
      return underTest(() => new PostgresBackend({ connectionString: url(), schema, poolSize: 4 }), true);
    },
  });
}

if (inheritedUrl) {
  postgresEntry(() => inheritedUrl);
} else if (pgSkip) {
  if (process.env.TEGAMI_REQUIRE_POSTGRES) throw new Error(`TEGAMI_REQUIRE_POSTGRES is set, but: ${pgSkip}`);
  describe.skip(`postgres store (skipped: ${pgSkip})`, () => it('runs the suites of this file on PostgreSQL', () => undefined));
} else {
  const cluster = withPostgres();
  beforeAll(() => void (process.env[ENV_URL] = cluster().url));
  afterAll(() => void delete process.env[ENV_URL]);
  // Every backend call is a round trip to another process, and the engine's pacing (slices, the
  // reclaimer's duty cycle) rests in proportion to the wall time a step took: on a loaded 2-core
  // machine the mass-change and reclaim tests take several times as long as on LevelDB.
  vi.setConfig({ testTimeout: 120_000 });
  postgresEntry(() => cluster().url);
}

export const durableBackends = backends.filter((b) => b.durable);
