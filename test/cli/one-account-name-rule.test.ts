// An account is named one way everywhere (storage/user-names.ts): the CLI cannot create a second
// spelling that reaches an existing account, removes what it says it removes, and keeps the data
// directory to its owner.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../storage/index.ts';
import { readUsersFile } from '../../server/users/users-file.ts';
import { BIN, startServerProcess } from '../helpers/server-process.ts';

const tegami = (args: string[], input?: string) =>
  spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8' });

describe('one account name rule', () => {
  it('user add of an address is refused and leaves the account the address reaches alone', () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-names-'));
    expect(tegami(['user', 'add', 'alice', '--password-stdin', '--data', data], 'alice-pass\n').status).toBe(0);
    const before = readUsersFile(data).users.alice!.password;
    const r = tegami(['user', 'add', 'alice@evil.example', '--password-stdin', '--data', data], 'evil-pass\n');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/invalid user name "alice@evil\.example"/);
    expect(readUsersFile(data).users.alice!.password).toBe(before);
    expect(Object.keys(readUsersFile(data).users)).toEqual(['alice']);
  }, 60_000);

  it('user del Alice --purge purges alice and her mail', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-names-'));
    const mbox = join(data, 'in.mbox');
    writeFileSync(mbox, 'From a@b Thu Jan  1 00:00:00 2026\nSubject: hi\n\nhello\n');
    expect(tegami(['user', 'add', 'alice', '--password-stdin', '--data', data], 'p\n').status).toBe(0);
    expect(tegami(['import', 'alice', mbox, '--data', data]).status).toBe(0);
    const r = tegami(['user', 'del', 'Alice', '--purge', '--data', data]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/removed, with all its mail/);
    const store = await openStore({ path: join(data, 'mail') });
    try {
      expect(await store.listUsers()).toEqual([]);
    } finally {
      await store.close();
    }
    expect(readUsersFile(data).users).toEqual({});
  }, 60_000);

  it('keeps the data directory and the LevelDB files private to their owner', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'tegami-perm-')), 'data');
    const server = await startServerProcess(['--data', data, '--user', 'alice:p']);
    try {
      expect(statSync(data).mode & 0o777).toBe(0o700);
      const mail = join(data, 'mail');
      expect(statSync(mail).mode & 0o077).toBe(0);
      for (const f of readdirSync(mail)) expect({ f, mode: statSync(join(mail, f)).mode & 0o077 }).toEqual({ f, mode: 0 });
    } finally {
      await server.stop();
    }
  }, 60_000);
});
