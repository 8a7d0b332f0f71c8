// A newcomer's first minutes: start the server, send a mail over SMTP, read it over POP3, and find
// the same list again after a restart on the same data directory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pop3Login, pop3Multi, uidlList } from '../helpers/pop3.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { sendMail } from '../helpers/smtp.ts';

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('tegami serve', () => {
  it('prints the ready line of the contract and exits cleanly on SIGTERM', async () => {
    server = await startServerProcess(['--memory', '--user', 'alice:secret']);
    for (const p of Object.values(server.ports)) expect(p).toBeGreaterThan(0);
    const code = await server.stop();
    server = undefined;
    expect(code).toBe(0);
  });

  it('delivers over SMTP, reads over POP3, and keeps UIDLs identical across a restart', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-e2e-'));
    server = await startServerProcess(['--data', data, '--user', 'alice:secret']);
    await sendMail(server.ports.smtp, 'alice@example.org', 'first');
    await sendMail(server.ports.smtp, 'ALICE@other.example', 'second');
    await expect(sendMail(server.ports.smtp, 'nobody@example.org', 'lost')).rejects.toThrow(/550/);

    const c = await pop3Login(server.ports.pop3, 'alice', 'secret');
    expect(await c.command('STAT')).toMatch(/^\+OK 2 \d+$/);
    const retr = await pop3Multi(c, 'RETR 1');
    expect(retr.lines).toContain('Subject: first');
    await c.command('QUIT');
    c.close();

    const before = await uidlList(server.ports.pop3, 'alice', 'secret');
    expect(before.length).toBe(2);
    await server.stop();
    // --user accounts live for one run only; the mail stays in the data directory.
    server = await startServerProcess(['--data', data, '--user', 'alice:secret']);
    expect(await uidlList(server.ports.pop3, 'alice', 'secret')).toEqual(before);
  });
});
