// A client that disconnects in the middle of a login must not keep the account's session slot
// (issue 12): the slot used to be taken after close() had run, so it was never given back, and with
// a small per-user limit the account stayed locked out until a restart.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startServer, type TegamiServer } from '../../server/index.ts';
import { LineClient } from '../helpers/line-client.ts';
import { pop3Login } from '../helpers/pop3.ts';

let server: TegamiServer;

beforeEach(async () => {
  server = await startServer({ users: { alice: 'pw' }, governor: { maxSessionsPerUser: 1 } });
});
afterEach(() => server.close());

async function settled(): Promise<void> {
  const end = Date.now() + 5000;
  while (server.governor.stats().sessions > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 400)); // and let the logins in flight finish
}

describe('a login cut short by a disconnect', () => {
  it('POP3: the slot is free again once the interrupted login finishes', async () => {
    server.chaos.set({ readLatencyMs: 200 }); // the login's INBOX snapshot is slow
    for (let i = 0; i < 3; i++) {
      const c = await LineClient.connect(server.ports.pop3);
      await c.line();
      c.send('USER alice');
      c.send('PASS pw');
      await new Promise((r) => setTimeout(r, 50));
      c.close();
    }
    await settled();
    server.chaos.reset();
    const c = await pop3Login(server.ports.pop3, 'alice', 'pw');
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    c.close();
  });

  it('IMAP: the slot is free again once the interrupted password check finishes', async () => {
    const c = await LineClient.connect(server.ports.imap);
    await c.line();
    c.send('a LOGIN alice pw'); // the first login runs scrypt, which outlasts the connection
    c.close();
    await settled();
    const d = await LineClient.connect(server.ports.imap);
    await d.line();
    expect(await d.command('b LOGIN alice pw')).toMatch(/^b OK /);
    d.close();
  });
});
