// Invariants 2 and 3 for POP3: an answer is complete or an error sent before its first line, and
// QUIT deletes durably or not at all.
import { afterEach, describe, expect, it } from 'vitest';
import { LineClient } from '../helpers/line-client.ts';
import { pop3Login, pop3Multi } from '../helpers/pop3.ts';
import { admitAll, startHarness, switchableStore, type Harness } from '../helpers/protocol-harness.ts';
import { handlePop3Connection } from '../../protocol/pop3/index.ts';
import { OverloadedError, type Governor } from '../../protocol/session-context.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function login(port: number): Promise<{ c: LineClient; reply: string }> {
  const c = await LineClient.connect(port);
  await c.line();
  await c.command('USER alice');
  return { c, reply: (await c.command('PASS secret'))! };
}

describe('POP3 under store failure and overload', () => {
  it('answers -ERR [SYS/TEMP] at login when the mailbox cannot be read, and never a list', async () => {
    let sw!: ReturnType<typeof switchableStore>;
    h = await startHarness(handlePop3Connection, { wrapStore: (s) => (sw = switchableStore(s)).store });
    await h.store.deliver(['alice'], Buffer.from('Subject: x\r\n\r\nx\r\n'));
    sw.failing.add('snapshot');
    const { c, reply } = await login(h.port);
    expect(reply).toMatch(/^-ERR \[SYS\/TEMP\]/);
    expect(await c.command('UIDL')).toMatch(/^-ERR/);
    c.close();
    sw.failing.clear();
    const ok = await login(h.port);
    expect(ok.reply).toBe('+OK 1 messages');
    ok.c.close();
  });

  it('answers -ERR [SYS/TEMP] before any UIDL line when the governor sheds the command', async () => {
    let shed = false;
    const governor: Governor = {
      ...admitAll,
      heavy: (p, u, cmd, work) => (shed && cmd === 'UIDL' ? Promise.reject(new OverloadedError('queue deadline passed')) : admitAll.heavy(p, u, cmd, work)),
    };
    h = await startHarness(handlePop3Connection, { governor });
    await h.store.deliver(['alice'], Buffer.from('Subject: x\r\n\r\nx\r\n'));
    const c = await pop3Login(h.port, 'alice', 'secret');
    shed = true;
    c.send('UIDL');
    expect(await c.line()).toMatch(/^-ERR \[SYS\/TEMP\]/);
    // the next line belongs to the next command: no stray list lines followed the error
    expect(await c.command('NOOP')).toBe('+OK');
    shed = false;
    expect((await pop3Multi(c, 'UIDL')).lines.length).toBe(1);
    c.close();
  });

  it('answers RETR with -ERR [SYS/TEMP] when the body cannot be read', async () => {
    let sw!: ReturnType<typeof switchableStore>;
    h = await startHarness(handlePop3Connection, { wrapStore: (s) => (sw = switchableStore(s)).store });
    await h.store.deliver(['alice'], Buffer.from('Subject: x\r\n\r\nx\r\n'));
    const c = await pop3Login(h.port, 'alice', 'secret');
    sw.failing.add('readBody');
    expect(await c.command('RETR 1')).toMatch(/^-ERR \[SYS\/TEMP\]/);
    expect(await c.command('NOOP')).toBe('+OK');
    c.close();
  });

  it('answers QUIT with -ERR [SYS/TEMP] and deletes nothing when the commit fails', async () => {
    let sw!: ReturnType<typeof switchableStore>;
    h = await startHarness(handlePop3Connection, { wrapStore: (s) => (sw = switchableStore(s)).store });
    await h.store.deliver(['alice'], Buffer.from('Subject: x\r\n\r\nx\r\n'));
    const c = await pop3Login(h.port, 'alice', 'secret');
    expect(await c.command('DELE 1')).toMatch(/^\+OK/);
    sw.failing.add('expunge');
    expect(await c.command('QUIT')).toMatch(/^-ERR \[SYS\/TEMP\]/);
    sw.failing.clear();
    const again = await pop3Login(h.port, 'alice', 'secret');
    expect(await again.command('STAT')).toMatch(/^\+OK 1 /);
    again.close();
  });

  it('refuses a session at the door with -ERR [SYS/TEMP] and a login over the per-user limit with [IN-USE]', async () => {
    let refuseSession = true;
    const governor: Governor = {
      ...admitAll,
      admitSession: () => (refuseSession ? { refused: true, kind: 'busy', text: 'too busy, try later' } : admitAll.admitSession('pop3', '')),
      admitLogin: () => ({ refused: true, kind: 'limit', text: 'too many sessions for this user' }),
    };
    h = await startHarness(handlePop3Connection, { governor });
    const c = await LineClient.connect(h.port);
    expect(await c.line()).toBe('-ERR [SYS/TEMP] too busy, try later');
    await c.ended();
    refuseSession = false;
    const { reply } = await login(h.port);
    expect(reply).toMatch(/^-ERR \[IN-USE\]/);
  });

  it('logs the same UIDL hash at login and logout when nothing changed', async () => {
    h = await startHarness(handlePop3Connection);
    await h.store.deliver(['alice'], Buffer.from('Subject: x\r\n\r\nx\r\n'));
    const c = await pop3Login(h.port, 'alice', 'secret');
    await c.command('QUIT');
    const lines = (h.ctx.log as unknown as { lines: { msg?: string; obj: { uidlHash?: string } }[] }).lines;
    const hashes = lines.filter((l) => l.msg?.startsWith('pop3 log')).map((l) => l.obj.uidlHash);
    expect(hashes.length).toBe(2);
    expect(hashes[0]).toMatch(/^[0-9a-f]{12}$/);
    expect(hashes[1]).toBe(hashes[0]);
  });
});
