import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests import the package by name, as an embedder would (README example).
    alias: { tegami: fileURLToPath(new URL('./server/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // an application's own test project, run against the packed tarball by test/consumer/packed-package.test.ts
    exclude: [...configDefaults.exclude, 'test/consumer/project/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
