// Package entry for embedders: `import { startServer } from 'tegami'`.
// The sources are TypeScript; tsx's loader runs them without a build step.
import { register } from 'tsx/esm/api';

register();
const api = await import('./server/index.ts');

export const { startServer } = api;
