// The on-disk database: classic-level (LevelDB), with one shortcut. abstract-level's batch()
// clones, re-validates and re-encodes every operation — about 4 of the 7 µs each operation cost,
// measured with batches shaped like ours — although our keys are strings and our values bytes
// already, which is all LevelDB's binding reads. A mass deletion writes about four operations per
// message, all on the event loop, so while the database is open batches go straight to
// classic-level's own _batch; otherwise through the checked path, which gives the proper error.
import type { Level } from 'level';
import type { BatchOp, KvDb } from './level-backend.ts';

interface Classic extends KvDb {
  readonly status: string;
  _batch(ops: BatchOp[], opts: { sync: boolean }): Promise<void>;
}

export function classicDb(db: Level<string, Uint8Array>): KvDb {
  const inner = db as unknown as Classic;
  return {
    open: () => inner.open(),
    close: () => inner.close(),
    get: (key) => inner.get(key),
    getMany: (keys) => inner.getMany(keys),
    iterator: (opts) => inner.iterator(opts),
    keys: (opts) => inner.keys(opts),
    compactRange: (start, end) => inner.compactRange!(start, end),
    batch: (ops, opts) => (inner.status === 'open' ? inner._batch(ops, opts) : inner.batch(ops, opts)),
  };
}
