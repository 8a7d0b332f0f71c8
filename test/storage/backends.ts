// Every storage backend, for the suites that must hold for all of them (store-conformance and the
// fault tests). A new backend adds one entry here; storage/README.md says what it must pass.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { MailEngine, type Backend, type EngineOptions } from '../../storage/engine/index.ts';
import { classicDb } from '../../storage/level/classic-db.ts';
import { LevelBackend } from '../../storage/level/level-backend.ts';
import { MemoryBackend } from '../../storage/memory/memory-backend.ts';
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

export const durableBackends = backends.filter((b) => b.durable);
