#!/usr/bin/env -S node --max-semi-space-size=64
// The `tegami` command: the compiled CLI in dist/ (built by `npm run build`, which `npm ci` and
// `npm pack` run through the `prepare` script).
// LevelDB reads and fsyncs, scrypt and file I/O share libuv's thread pool (4 threads by default): give
// it room so a compaction or a burst of syncs does not queue every mailbox read behind it. It must be
// set before the pool starts, hence before any import.
// The young generation is sized for session churn (the shebang's --max-semi-space-size, 64 MB; V8 reads
// it only at start): with the default 16 MB a busy server promoted sessions' short-lived objects and
// ran a major GC every few seconds, each a 20-40 ms pause for every client at 0.3 of a core, and 13
// scavenges per 10 s at ten times capacity (bench/overload.ts, "server GC pauses"); with 64 MB, no
// major GC and 3 scavenges, each a little longer (26 ms against 19).
// test/helpers/server-process.ts starts the server the same way.
process.env.UV_THREADPOOL_SIZE ??= '16';
const cli = new URL('../dist/esm/server/cli.js', import.meta.url);
try {
  await import(cli.href);
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes(cli.pathname)) throw err;
  process.stderr.write('tegami: not built (no dist/); run `npm run build` in the package directory\n');
  process.exit(1);
}
