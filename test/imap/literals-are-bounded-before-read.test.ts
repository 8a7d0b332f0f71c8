// Invariant 10 for IMAP literals: a literal is refused by the limit of where it stands — a few KB
// before login, the message size in APPEND, a command line's worth elsewhere — before one byte of
// it is read, with a clear TOOBIG and never a "+" continuation for it.
import { afterEach, describe, expect, it } from 'vitest';
import { handleImapConnection } from '../../protocol/imap/index.ts';
import { analyzeMessage } from '../../protocol/mime/index.ts';
import { LineClient } from '../helpers/line-client.ts';
import { startHarness, type Harness } from '../helpers/protocol-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function connect(): Promise<LineClient> {
  h ??= await startHarness(handleImapConnection, { analyzer: analyzeMessage });
  const c = await LineClient.connect(h.port);
  expect(await c.line()).toMatch(/^\* OK /);
  return c;
}

async function login(): Promise<LineClient> {
  const c = await connect();
  expect(await c.command('a LOGIN alice secret')).toMatch(/^a OK/);
  return c;
}

describe('IMAP literals', () => {
  it('refuses a large synchronising literal before login without a continuation', async () => {
    const c = await connect();
    expect(await c.command('a LOGIN {999999999999}')).toMatch(/^a BAD \[TOOBIG\]/);
    expect(await c.command('b LOGIN {9000}')).toMatch(/^b BAD \[TOOBIG\]/);
    expect(await c.command('c NOOP')).toBe('c OK NOOP completed');
    // a user name's worth is fine
    expect(await c.command('d LOGIN {5}')).toMatch(/^\+ /);
    expect(await c.command('alice secret')).toMatch(/^d OK/);
  });

  it('closes on a non-synchronising literal over the pre-login bound, reading none of it (RFC 7888 4)', async () => {
    const c = await connect();
    c.write(`a LOGIN {20000+}\r\n${'x'.repeat(20000)} secret\r\n`);
    expect(await c.line()).toMatch(/^a BAD \[TOOBIG\]/);
    expect(await c.line()).toMatch(/^\* BYE \[TOOBIG\]/);
    await c.ended();
  });

  it('bounds literals after login by their command: APPEND by the message size, others by a command line', async () => {
    const c = await login();
    expect(await c.command('s SELECT {100000}')).toMatch(/^s BAD \[TOOBIG\]/);
    expect(await c.command(`p APPEND INBOX {${10 * 1024 * 1024 + 1}}`)).toMatch(/^p NO \[TOOBIG\]/);
    expect(await c.command('q APPEND INBOX {20000}')).toMatch(/^\+ /);
    c.write(`Subject: x\r\n\r\n${'y'.repeat(20000 - 15)}\r\n`);
    expect(await c.line()).toMatch(/^q OK \[APPENDUID/);
    c.send(`r APPEND INBOX {${10 * 1024 * 1024 + 1}+}`);
    expect(await c.line()).toMatch(/^r NO \[TOOBIG\]/);
    expect(await c.line()).toMatch(/^\* BYE/);
    await c.ended();
  });

  it('refuses a literal inside an AUTHENTICATE response at once, and serves others meanwhile', async () => {
    const c = await connect();
    expect(await c.command('a AUTHENTICATE PLAIN')).toMatch(/^\+/);
    const other = await connect();
    expect(await c.command('{64000000}', 2000)).toMatch(/^a BAD/);
    expect(await other.command('o NOOP', 2000)).toBe('o OK NOOP completed');
    expect(await c.command('b NOOP', 2000)).toBe('b OK NOOP completed');
    // non-synchronising: its bytes are on the way; the session ends without reading them
    expect(await c.command('c AUTHENTICATE PLAIN')).toMatch(/^\+/);
    c.write(`{64000000+}\r\n${'x'.repeat(1 << 20)}`);
    expect(await c.line(2000)).toMatch(/^\* BYE \[TOOBIG\]/);
    await c.ended();
    other.close();
  });
});
