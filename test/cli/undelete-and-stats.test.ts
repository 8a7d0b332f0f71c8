// Retention: mail deleted by a client stays recoverable for a while; `tegami undelete` brings it
// back with a new UIDL (never the old one, which the client saw go), and `tegami stats` shows it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pop3Login, uidlList } from '../helpers/pop3.ts';
import { BIN, startServerProcess } from '../helpers/server-process.ts';
import { sendMail } from '../helpers/smtp.ts';

const tegami = (args: string[]) => execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('tegami undelete', () => {
  it('restores mail expunged within the retention time, with new UIDLs', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-undelete-'));
    let server = await startServerProcess(['--data', data, '--user', 'alice:pw', '--retention', '1h']);
    await sendMail(server.ports.smtp, 'alice@x.org', 'stays');
    await sendMail(server.ports.smtp, 'alice@x.org', 'deleted by mistake');
    const before = await uidlList(server.ports.pop3, 'alice', 'pw');
    const c = await pop3Login(server.ports.pop3, 'alice', 'pw');
    expect(await c.command('DELE 2')).toMatch(/^\+OK/);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await server.stop();

    expect(tegami(['stats', '--data', data])).toMatch(/reclaim backlog: 1 bodies/);
    expect(tegami(['undelete', 'alice', '--data', data])).toBe('restored 1 message for alice\n');

    server = await startServerProcess(['--data', data, '--user', 'alice:pw', '--retention', '1h']);
    try {
      const after = await uidlList(server.ports.pop3, 'alice', 'pw');
      expect(after.length).toBe(2);
      expect(after[0]).toBe(before[0]);
      expect(after[1]!.split(' ')[1]).not.toBe(before[1]!.split(' ')[1]);
    } finally {
      await server.stop();
    }
  });
});

describe('tegami user del --purge', () => {
  it('removes the login and all the mail of the account, and nothing of another account', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-purge-'));
    execFileSync(process.execPath, [BIN, 'user', 'add', 'carol', '--data', data, '--password-stdin'], { input: 'pw\n' });
    execFileSync(process.execPath, [BIN, 'user', 'add', 'dave', '--data', data, '--password-stdin'], { input: 'pw\n' });
    const server = await startServerProcess(['--data', data]);
    await sendMail(server.ports.smtp, ['carol@x.org', 'dave@x.org'], 'to both');
    await sendMail(server.ports.smtp, 'carol@x.org', 'only carol');
    await server.stop();

    expect(tegami(['user', 'del', 'carol', '--purge', '--data', data])).toBe('user carol removed, with all its mail\n');
    const stats = tegami(['stats', '--data', data]);
    expect(stats).not.toMatch(/^carol\t/m);
    expect(stats).toMatch(/^dave\tINBOX\tmessages=1\t/m);
    expect(stats).toMatch(/reclaim backlog: 0 bodies/);
    expect(tegami(['user', 'list', '--data', data])).not.toMatch(/carol/);
  });
});
