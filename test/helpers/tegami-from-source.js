#!/usr/bin/env node
// `tegami` run from the TypeScript sources (tsx), so that tests and benches exercise the code as it is
// in the work tree, never a stale dist/. bin/tegami.js runs the compiled build; test/consumer tests that.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { register } = await import('tsx/esm/api');
register();
await import('../../server/cli.ts');
