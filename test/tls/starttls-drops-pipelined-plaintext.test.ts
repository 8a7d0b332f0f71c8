// CVE-2011-0411 class: commands a client (or anyone on the path) pipelines after STARTTLS/STLS were
// sent in the clear before the handshake; the server must never execute them inside the TLS session
// (IMAP and POP3: our sessions drop what they read; SMTP: smtp-server's STARTTLS, checked the same way).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TegamiServer } from '../../server/server.ts';
import { startTlsServer } from '../helpers/tls-server.ts';
import { LineClient } from '../helpers/line-client.ts';

let server: TegamiServer;
beforeAll(async () => {
  server = await startTlsServer();
});
afterAll(async () => {
  await server.close();
});

describe('STARTTLS drops plaintext pipelined after it', () => {
  it('IMAP: a LOGIN sent in the same packet as STARTTLS is not run after the handshake', async () => {
    const c = await LineClient.connect(server.ports.imap);
    await c.line();
    c.write('a STARTTLS\r\nb LOGIN alice secret\r\nc SELECT INBOX\r\n');
    expect(await c.line()).toBe('a OK Begin TLS negotiation now');
    await c.startTls({ ca: server.certificate });
    c.send('d CAPABILITY');
    const after = await c.until((l) => l.startsWith('d '));
    expect(after.filter((l) => /^[bc] /.test(l))).toEqual([]);
    expect(after[0]).toMatch(/^\* CAPABILITY .*AUTH=PLAIN/); // still not authenticated
    expect(await c.command('e SELECT INBOX')).toMatch(/^e BAD SELECT not allowed: log in first/);
    c.close();
  }, 10_000);

  it('POP3: USER/PASS sent in the same packet as STLS are not run after the handshake', async () => {
    const c = await LineClient.connect(server.ports.pop3);
    await c.line();
    c.write('STLS\r\nUSER alice\r\nPASS secret\r\n');
    expect(await c.line()).toBe('+OK begin TLS negotiation');
    await c.startTls({ ca: server.certificate });
    expect(await c.command('STAT')).toBe('-ERR not logged in yet');
    expect(await c.command('PASS secret')).toBe('-ERR send USER first');
    c.close();
  });

  it('SMTP: a MAIL FROM sent in the same packet as STARTTLS gets no answer inside TLS', async () => {
    const c = await LineClient.connect(server.ports.smtp);
    await c.line();
    c.send('EHLO test');
    await c.until((l) => l.startsWith('250 '));
    c.write('STARTTLS\r\nMAIL FROM:<injected@example.com>\r\n');
    expect(await c.line()).toMatch(/^220 /);
    await c.startTls({ ca: server.certificate });
    // the first line inside TLS answers our NOOP: no reply to (or effect of) the injected MAIL FROM
    expect(await c.command('NOOP')).toMatch(/^250 /);
    c.send('EHLO test');
    await c.until((l) => l.startsWith('250 '));
    expect(await c.command('RCPT TO:<alice@example.com>')).toMatch(/^503 /); // no transaction was started
    c.close();
  });
});
