// Password guessing: each failure is logged (user and address, never the password) and answered
// after a pause that grows with the address's and the account's recent failures; a connection is
// dropped after three; an address that keeps failing is refused for a while with a temporary code,
// an account never is; everything fades after a quiet window.
import { afterEach, describe, expect, it } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { LoginGuard } from '../../protocol/login-guard.ts';
import { handlePop3Connection } from '../../protocol/pop3/index.ts';
import { LineClient } from '../helpers/line-client.ts';
import { quietLog, startHarness, type Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const FAST = { baseDelayMs: 1, maxDelayMs: 8 };

describe('failed logins', () => {
  it('IMAP drops a connection after three failures and logs each without the password', async () => {
    h = await startHarness(handleImapConnection, { logins: FAST });
    const c = await LineClient.connect(h.port);
    await c.line();
    for (const t of ['a', 'b']) expect(await c.command(`${t} LOGIN alice wrong-${t}-pw`)).toMatch(/NO \[AUTHENTICATIONFAILED\]/);
    expect(await c.command('c AUTHENTICATE PLAIN AGFsaWNlAHdyb25nLWMtcHc=')).toMatch(/^c NO \[AUTHENTICATIONFAILED\]/);
    expect(await c.line()).toMatch(/^\* BYE/);
    await c.ended();
    const lines = (h.ctx.log as typeof quietLog).lines.filter((l) => l.msg === 'login failed');
    expect(lines.map((l) => l.obj)).toMatchObject([
      { protocol: 'imap', user: 'alice', address: '127.0.0.1' },
      { protocol: 'imap', user: 'alice', address: '127.0.0.1' },
      { protocol: 'imap', user: 'alice', address: '127.0.0.1' },
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/wrong-/);
  });

  it('refuses an address that keeps guessing with a temporary code, for a while only', async () => {
    let now = 0;
    const guard = new LoginGuard({ ...FAST, refuseAfter: 4, windowMs: 60_000 }, () => now);
    h = await startHarness(handlePop3Connection, { logins: FAST });
    Object.assign(h.ctx, { logins: guard });
    for (let i = 0; i < 2; i++) {
      const c = await LineClient.connect(h.port);
      await c.line();
      await c.command('USER alice');
      expect(await c.command('PASS nope')).toMatch(/^-ERR \[AUTH\]/);
      await c.command('USER alice');
      expect(await c.command('PASS nope')).toMatch(/^-ERR \[AUTH\]/);
      c.close();
    }
    const c = await LineClient.connect(h.port);
    await c.line();
    await c.command('USER alice');
    expect(await c.command('PASS secret')).toMatch(/^-ERR \[SYS\/TEMP\] too many failed logins/);
    now += 61_000; // quiet for a window
    await c.command('USER alice');
    expect(await c.command('PASS secret')).toMatch(/^\+OK/);
    c.close();
  });

  it('slows an account that is being guessed, more with each failure, and never refuses it', async () => {
    let now = 0;
    const delays: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const guard = new LoginGuard({ baseDelayMs: 250, maxDelayMs: 5000, freeFailures: 3, refuseAfter: 5 }, () => now);
    globalThis.setTimeout = ((fn: () => void, ms: number) => (delays.push(ms), realSetTimeout(fn, 0))) as typeof setTimeout;
    try {
      // from many addresses: each below the refusal, the account's count grows
      for (let i = 0; i < 8; i++) await guard.failed('imap', `10.0.0.${i}`, 'alice', quietLog);
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    expect(delays).toEqual([250, 250, 250, 500, 1000, 2000, 4000, 5000]);
    expect(guard.allowed('10.0.0.99')).toBe(true);
  });
});
