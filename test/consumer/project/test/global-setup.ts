// test/global-setup.ts — one server for the whole run (vitest.config.ts: globalSetup)
import { startServer } from 'tegami';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject) {
  const server = await startServer({ autoCreateUsers: true, metricsPort: 0, httpApi: true });
  project.provide('mail', {
    host: server.host,
    smtpPort: server.ports.smtp,
    api: `http://${server.host}:${server.ports.metrics}/api/v1`,
  });
  return () => server.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    mail: { host: string; smtpPort: number; api: string };
  }
}
