// A client that leaves in the middle of the TLS handshake must not leave its session behind. Node
// never closes a server TLS socket whose peer went away before the handshake finished once the
// greeting was written to it: without the guard in TlsCertificates.secure these sessions stayed
// open (and counted) until the idle timeout, 10 minutes.
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TegamiServer } from '../../server/server.ts';
import { startTlsServer } from '../helpers/tls-server.ts';

let server: TegamiServer;
beforeAll(async () => {
  server = await startTlsServer({ imapsPort: 0, pop3sPort: 0 });
});
afterAll(async () => {
  await server.close();
});

const leaveAtOnce = (port: number) =>
  new Promise<void>((resolve) => {
    const c = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      c.destroy();
      resolve();
    });
    c.on('error', () => resolve());
  });

describe('TLS sessions end with their client', () => {
  for (const proto of ['imaps', 'pop3s'] as const) {
    it(`${proto}: clients gone right after their side of the handshake leave no session`, async () => {
      for (let i = 0; i < 3; i++) await leaveAtOnce(server.ports[proto]!);
      const deadline = Date.now() + 3000;
      while (server.governor.stats().sessions > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(server.governor.stats().sessions).toBe(0);
    });
  }
});
