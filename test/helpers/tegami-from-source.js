#!/usr/bin/env node
// `tegami` run from the TypeScript sources (tsx), so that tests and benches exercise the code as it is
// in the work tree, never a stale dist/. bin/tegami.js runs the compiled build; test/consumer tests that.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { register } = await import('tsx/esm/api');
register();
// tsx maps stack traces back to the sources; the build that ships does not. A bench asks for the
// shipped behaviour: Node reads the stack of every failed write (a client that hung up before its
// answer), and source-mapping it took 5% of the server's CPU at ten times capacity.
if (process.env.TEGAMI_SOURCE_MAPS === '0') process.setSourceMapsEnabled(false);
await import('../../server/cli.ts');
