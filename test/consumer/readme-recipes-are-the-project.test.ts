// The README's "In your tests" recipes are the consumer project's files, verbatim (each block names
// its file on its first line): packed-package.test.ts runs them against the tarball, so the README
// shows code that runs.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

test('every recipe block in "In your tests" is its file in test/consumer/project, verbatim', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = /\n## In your tests\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
  const blocks = [...section.matchAll(/```ts\n(\/\/ (\S+) [^\n]*\n[\s\S]*?)```/g)];
  expect(blocks.map((b) => b[2])).toEqual(['test/sign-up.test.ts', 'test/chaos.test.ts', 'vitest.config.ts', 'test/global-setup.ts', 'test/shared-server.test.ts']);
  for (const [, body, path] of blocks) expect(body, path).toBe(readFileSync(new URL(`./project/${path}`, import.meta.url), 'utf8'));
});
