#!/usr/bin/env node
// The `tegami` command: the compiled CLI in dist/ (built by `npm run build`, which `npm ci` and
// `npm pack` run through the `prepare` script).
// LevelDB reads and fsyncs, scrypt and file I/O share libuv's thread pool (4 threads by default): give
// it room so a compaction or a burst of syncs does not queue every mailbox read behind it. It must be
// set before the pool starts, hence before any import.
process.env.UV_THREADPOOL_SIZE ??= '16';
const cli = new URL('../dist/esm/server/cli.js', import.meta.url);
try {
  await import(cli.href);
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes(cli.pathname)) throw err;
  process.stderr.write('tegami: not built (no dist/); run `npm run build` in the package directory\n');
  process.exit(1);
}
