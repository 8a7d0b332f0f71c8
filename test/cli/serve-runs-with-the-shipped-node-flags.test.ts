// The server's V8 flags live in three places that V8 reads only at process start — the `tegami`
// command's shebang, `npm start`, and the helper that starts `tegami serve` for tests and benches —
// and must agree, or the benches measure a server nobody runs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVE_NODE_ARGS } from '../helpers/server-process.ts';

const root = new URL('../../', import.meta.url);

describe('the node flags tegami serve runs with', () => {
  it('are the same in bin/tegami.js, npm start and the test helper', () => {
    const shebang = readFileSync(new URL('bin/tegami.js', root), 'latin1').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S node ${SERVE_NODE_ARGS.join(' ')}`);
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: { start: string } };
    expect(pkg.scripts.start).toBe(`node ${SERVE_NODE_ARGS.join(' ')} bin/tegami.js serve`);
  });
});
