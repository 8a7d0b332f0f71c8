#!/usr/bin/env node
// The `tegami` command. The sources are TypeScript, run through tsx's loader.
// LevelDB reads and fsyncs, scrypt and file I/O share libuv's thread pool (4 threads by default): give
// it room so a compaction or a burst of syncs does not queue every mailbox read behind it. It must be
// set before the pool starts, hence before any import.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { register } = await import('tsx/esm/api');
register();
await import('../server/cli.ts');
