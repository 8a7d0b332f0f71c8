// The operator's CLI: accounts can be managed while a server runs on the same data directory, and
// an mbox import keeps the UIDLs a previous server gave (a migration re-downloads nothing).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pop3Login, uidlList } from '../helpers/pop3.ts';
import { LineClient } from '../helpers/line-client.ts';
import { BIN, startServerProcess } from '../helpers/server-process.ts';

const tegami = (args: string[], input?: string) =>
  execFileSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

async function canLogin(port: number, user: string, pass: string): Promise<boolean> {
  const c = await LineClient.connect(port);
  await c.line();
  await c.command(`USER ${user}`);
  const r = await c.command(`PASS ${pass}`);
  c.close();
  return !!r?.startsWith('+OK');
}

async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('tegami user', () => {
  it('adds, lists and removes accounts while the server runs', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-cli-'));
    tegami(['user', 'add', 'alice', '--password-stdin', '--data', data], 'first-pass\n');
    const server = await startServerProcess(['--data', data]);
    try {
      expect(await canLogin(server.ports.pop3, 'alice', 'first-pass')).toBe(true);
      tegami(['user', 'add', 'bob', '--password-stdin', '--data', data], 'bob-pass\n');
      expect(tegami(['user', 'list', '--data', data]).split('\n').filter(Boolean)).toEqual(['alice', 'bob']);
      expect(await eventually(() => canLogin(server.ports.pop3, 'bob', 'bob-pass'))).toBe(true);
      tegami(['user', 'del', 'bob', '--data', data]);
      expect(await eventually(async () => !(await canLogin(server.ports.pop3, 'bob', 'bob-pass')))).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('creates the data directory when the first account is added before any server ran', () => {
    const data = join(mkdtempSync(join(tmpdir(), 'tegami-cli-')), 'new', 'data');
    expect(tegami(['user', 'add', 'dave', '--password-stdin', '--data', data], 'pw\n')).toMatch(/user dave added/);
    expect(tegami(['user', 'list', '--data', data]).trim()).toBe('dave');
  });
});

describe('tegami import', () => {
  it('imports an mbox, keeping X-UIDL values, and refuses while a server holds the data directory', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-import-'));
    const mbox = join(data, 'in.mbox');
    writeFileSync(mbox, [1, 2, 3].map((i) => `From x Thu Nov 20 10:00:00 2026\nSubject: m${i}\nX-UIDL: old-${i}\n\nbody ${i}\n`).join('\n'));
    tegami(['user', 'add', 'carol', '--password-stdin', '--data', data], 'pw\n');
    expect(tegami(['import', 'carol', mbox, '--data', data])).toMatch(/imported 3 messages/);
    const server = await startServerProcess(['--data', data]);
    try {
      expect(await uidlList(server.ports.pop3, 'carol', 'pw')).toEqual(['1 old-1', '2 old-2', '3 old-3']);
      expect(() => tegami(['import', 'carol', mbox, '--data', data])).toThrow(/in use/);
      const c = await pop3Login(server.ports.pop3, 'carol', 'pw');
      expect(await c.command('STAT')).toMatch(/^\+OK 3 /);
      c.close();
    } finally {
      await server.stop();
    }
  });
});
