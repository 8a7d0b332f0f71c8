// The README's embedding example is the file readme-example.test.ts, verbatim: if either changes
// without the other, this fails.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

test('readme-example.test.ts is the README example, verbatim', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const example = /## Embedding in your tests\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  expect(readFileSync(new URL('./readme-example.test.ts', import.meta.url), 'utf8')).toBe(example);
});
