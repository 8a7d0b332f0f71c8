// The sharded store (storage/shards/) as entries of the store suite: a router over two clusters —
// two memory engines, and with PostgreSQL two schemas of the suite's cluster (named after the
// store's directory, so a restart finds them again). The suite's accounts are spread over both: heavy
// and light pinned to "b", the others created in "a" (newAccounts) and found there again after a
// restart. alice and bob share a cluster: the suite checks that one delivery to both stores one body.
import { createHash } from 'node:crypto';
import { MailEngine, type EngineOptions } from '../../storage/engine/index.ts';
import { MemoryBackend } from '../../storage/memory/memory-backend.ts';
import { PostgresBackend } from '../../storage/postgres/postgres-backend.ts';
import type { ShardMap } from '../../storage/shards/shard-map.ts';
import { ShardedStore } from '../../storage/shards/sharded-store.ts';
import type { Store } from '../../storage/index.ts';
import { backends, tempDir, type BackendUnderTest } from './backends.ts';

const MAP: ShardMap = {
  clusters: new Map([['a', 'a'], ['b', 'b']]),
  newAccounts: 'a',
  accounts: new Map([['heavy', 'b'], ['light', 'b']]),
};

function sharded(openCluster: (name: string, opts?: EngineOptions) => Promise<Store>, durable: boolean): BackendUnderTest {
  return {
    durable,
    backend: () => {
      throw new Error('a sharded store has a backend per cluster');
    },
    open: (opts) => ShardedStore.open({ map: MAP }, { openCluster: (name) => openCluster(name, opts) }),
  };
}

export const shardedStores: typeof backends = [
  { name: 'sharded memory', durable: false, make: () => sharded((_, opts) => MailEngine.open(new MemoryBackend(), opts), false) },
];

// With PostgreSQL, over the cluster that backends.ts starts (or was handed) for the suite.
if (backends.some((b) => b.name === 'postgres')) {
  shardedStores.push({
    name: 'sharded postgres',
    durable: true,
    make: (dir) => {
      const schema = `shards_${createHash('sha256').update(dir ?? tempDir()).digest('hex').slice(0, 16)}`;
      const url = () => process.env.TEGAMI_TEST_POSTGRES!;
      return sharded((name, opts) => MailEngine.open(new PostgresBackend({ connectionString: url(), schema: `${schema}_${name}`, poolSize: 2 }), opts), true);
    },
  });
}
