// POP3 as RFC 1939/2449/3206/5034 describe it, over a real socket.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LineClient } from '../helpers/line-client.ts';
import { pop3Login, pop3Multi } from '../helpers/pop3.ts';
import { startHarness, type Harness } from '../helpers/protocol-harness.ts';
import { handlePop3Connection } from '../../protocol/pop3/index.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness(handlePop3Connection);
});
afterEach(async () => {
  await h.close();
});

const deliver = (text: string) => h.store.deliver(['alice'], Buffer.from(text));

describe('POP3 session', () => {
  it('greets, lists capabilities and logs in with USER/PASS', async () => {
    const c = await LineClient.connect(h.port);
    expect(await c.line()).toMatch(/^\+OK /);
    const capa = await pop3Multi(c, 'CAPA');
    expect(capa.lines).toEqual(expect.arrayContaining(['TOP', 'UIDL', 'USER', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'SASL PLAIN']));
    expect(await c.command('USER alice')).toMatch(/^\+OK/);
    expect(await c.command('PASS secret')).toBe('+OK 0 messages');
    c.close();
  });

  it('logs in with AUTH PLAIN, with and without an initial response, and honours "*"', async () => {
    const b64 = Buffer.from('\0alice\0secret').toString('base64');
    const a = await LineClient.connect(h.port);
    await a.line();
    expect(await a.command(`AUTH PLAIN ${b64}`)).toMatch(/^\+OK/);
    a.close();
    const b = await LineClient.connect(h.port);
    await b.line();
    expect(await b.command('AUTH PLAIN')).toBe('+ ');
    expect(await b.command('*')).toMatch(/^-ERR/);
    expect(await b.command('AUTH PLAIN')).toBe('+ ');
    expect(await b.command(b64)).toMatch(/^\+OK/);
    b.close();
  });

  it('answers a wrong password with [AUTH] and closes after three failures', async () => {
    const c = await LineClient.connect(h.port);
    await c.line();
    for (let i = 0; i < 3; i++) {
      await c.command('USER alice');
      expect(await c.command('PASS wrong')).toMatch(/^-ERR \[AUTH\]/);
    }
    await c.ended();
  });

  it('keeps STAT, LIST and UIDL consistent and hides DELE\'d messages until RSET', async () => {
    await deliver('Subject: a\r\n\r\nA\r\n');
    await deliver('Subject: b\r\n\r\nBB\r\n');
    const c = await pop3Login(h.port, 'alice', 'secret');
    const list = await pop3Multi(c, 'LIST');
    const sizes = list.lines.map((l) => Number(l.split(' ')[1]));
    expect(await c.command('STAT')).toBe(`+OK 2 ${sizes[0]! + sizes[1]!}`);
    const uidl = await pop3Multi(c, 'UIDL');
    expect(uidl.lines.map((l) => l.split(' ')[0])).toEqual(['1', '2']);
    expect(await c.command('UIDL 2')).toBe(`+OK ${uidl.lines[1]}`);
    expect(await c.command('DELE 1')).toMatch(/^\+OK/);
    expect(await c.command('STAT')).toBe(`+OK 1 ${sizes[1]}`);
    expect((await pop3Multi(c, 'UIDL')).lines).toEqual([uidl.lines[1]]);
    expect(await c.command('RETR 1')).toMatch(/^-ERR/);
    expect(await c.command('RSET')).toMatch(/^\+OK/);
    expect((await pop3Multi(c, 'UIDL')).lines).toEqual(uidl.lines);
    c.close();
  });

  it('byte-stuffs lines that start with "." and sends TOP n lines of the body', async () => {
    await deliver('Subject: dots\r\n\r\n.leading dot\r\n..two\r\nthird\r\n');
    const c = await pop3Login(h.port, 'alice', 'secret');
    c.send('RETR 1');
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.until((l) => l === '.')).toEqual(['Subject: dots', '', '..leading dot', '...two', 'third', '.']);
    expect((await pop3Multi(c, 'TOP 1 0')).lines).toEqual(['Subject: dots', '']);
    expect((await pop3Multi(c, 'TOP 1 2')).lines).toEqual(['Subject: dots', '', '.leading dot', '..two']);
    c.close();
  });

  it('deletes on QUIT, durably, and a dropped connection deletes nothing', async () => {
    await deliver('Subject: 1\r\n\r\n1\r\n');
    await deliver('Subject: 2\r\n\r\n2\r\n');
    const dropped = await pop3Login(h.port, 'alice', 'secret');
    expect(await dropped.command('DELE 1')).toMatch(/^\+OK/);
    dropped.close();
    await new Promise((r) => setTimeout(r, 50));
    const c = await pop3Login(h.port, 'alice', 'secret');
    expect(await c.command('STAT')).toMatch(/^\+OK 2 /);
    expect(await c.command('DELE 1')).toMatch(/^\+OK/);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    const after = await pop3Login(h.port, 'alice', 'secret');
    expect(await after.command('STAT')).toMatch(/^\+OK 1 /);
    expect((await pop3Multi(after, 'TOP 1 0')).lines).toContain('Subject: 2');
    after.close();
  });

  it('gives two sessions on one mailbox their own snapshots and loses nothing', async () => {
    await deliver('Subject: 1\r\n\r\n1\r\n');
    await deliver('Subject: 2\r\n\r\n2\r\n');
    const a = await pop3Login(h.port, 'alice', 'secret');
    const b = await pop3Login(h.port, 'alice', 'secret');
    await a.command('DELE 1');
    await b.command('DELE 1');
    await b.command('DELE 2');
    expect(await a.command('QUIT')).toMatch(/^\+OK/);
    expect(await b.command('QUIT')).toMatch(/^\+OK/);
    const c = await pop3Login(h.port, 'alice', 'secret');
    expect(await c.command('STAT')).toBe('+OK 0 0');
    c.close();
  });

  it('answers bad input with -ERR and lives on', async () => {
    const c = await LineClient.connect(h.port);
    await c.line();
    expect(await c.command('STAT')).toMatch(/^-ERR/);
    expect(await c.command('HELLO')).toMatch(/^-ERR/);
    expect(await c.command('x'.repeat(5000))).toBe('-ERR line too long');
    c.write(Buffer.from([0, 255, 254, 13, 10]));
    expect(await c.line()).toMatch(/^-ERR/);
    expect(await c.command('USER alice')).toMatch(/^\+OK/);
    expect(await c.command('PASS secret')).toMatch(/^\+OK/);
    expect(await c.command('RETR')).toMatch(/^-ERR/);
    expect(await c.command('RETR 99')).toMatch(/^-ERR/);
    expect(await c.command('TOP 1')).toMatch(/^-ERR/);
    expect(await c.command('USER alice')).toMatch(/^-ERR/);
    c.close();
  });

  it('closes a session after too many bad commands', async () => {
    const c = await LineClient.connect(h.port);
    await c.line();
    for (let i = 0; i < 20; i++) c.send('BOGUS');
    await c.ended();
  });

  it('runs pipelined commands in order', async () => {
    await deliver('Subject: p\r\n\r\np\r\n');
    const c = await LineClient.connect(h.port);
    await c.line();
    c.write('USER alice\r\nPASS secret\r\nSTAT\r\nUIDL 1\r\nNOOP\r\nQUIT\r\n');
    const lines = await c.until((l) => l.includes('signing off'));
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['+OK', '+OK', '+OK', '+OK', '+OK', '+OK']);
    expect(lines[2]).toMatch(/^\+OK 1 /);
  });
});

describe('POP3 idle timeout', () => {
  it('closes a session that never sends QUIT', async () => {
    const t = await startHarness(handlePop3Connection, { idleTimeoutMs: 300 });
    const c = await LineClient.connect(t.port);
    await c.line();
    await c.ended(3000);
    await t.close();
  });
});
