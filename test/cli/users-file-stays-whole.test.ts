// users.json is the only copy of the accounts. A write that fails (a full disk) reports the error
// and leaves the old file; a file that cannot be read is a clear error at start — never "no
// accounts", with which every login fails — and, while running, a broken rewrite is reported once
// and the last good accounts keep working.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../server/index.ts';
import { UserDirectory, userAdd } from '../../server/users/index.ts';
import { readUsersFile, usersFilePath } from '../../server/users/users-file.ts';
import { BIN, startServerProcess } from '../helpers/server-process.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'tegami-users-'));
const TRUNCATED = '{\n  "version": 1,\n  "users": {\n    "alice": {\n      "pass';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('users.json', () => {
  it('is left as it was, and the error reported, when a write fails', async () => {
    const dir = tempDir();
    await userAdd(dir, 'alice', 'a-pass');
    const before = readFileSync(usersFilePath(dir), 'utf8');
    // The temp file cannot be created: this process's temp name is taken by a directory.
    const blocker = `${usersFilePath(dir)}.${process.pid}.tmp`;
    mkdirSync(blocker);
    await expect(userAdd(dir, 'bob', 'b-pass')).rejects.toThrow(/cannot write .*users\.json: .*left as it was/);
    expect(readFileSync(usersFilePath(dir), 'utf8')).toBe(before);
    rmdirSync(blocker);
    await userAdd(dir, 'bob', 'b-pass'); // the lock was released
    expect(Object.keys(readUsersFile(dir).users).sort()).toEqual(['alice', 'bob']);
  });

  it('that cannot be read stops the server from starting and the CLI from writing, saying which file and why', async () => {
    const dir = tempDir();
    writeFileSync(usersFilePath(dir), TRUNCATED);
    await expect(startServer({ dataDir: dir })).rejects.toThrow(/users\.json is not valid JSON/);
    await expect(startServerProcess(['--data', dir])).rejects.toThrow(/exited with 1 before ready; stderr: [^]*tegami: .*users\.json is not valid JSON/);
    const add = spawnSync(process.execPath, [BIN, 'user', 'add', 'bob', '--password-stdin', '--data', dir], { input: 'pw\n', encoding: 'utf8' });
    expect(add.status).toBe(1);
    expect(add.stderr).toMatch(/users\.json is not valid JSON/);
    expect(readFileSync(usersFilePath(dir), 'utf8')).toBe(TRUNCATED); // not replaced by a file with bob alone
    writeFileSync(usersFilePath(dir), JSON.stringify({ version: 1, users: { alice: { updated: 'x' } } }));
    await expect(startServer({ dataDir: dir })).rejects.toThrow(/users\.json is not a tegami users file/);
  });

  it('rewritten badly while the server runs is reported once, and the last good accounts keep working', async () => {
    const dir = tempDir();
    await userAdd(dir, 'alice', 'a-pass');
    const errors: unknown[] = [];
    const users = await UserDirectory.open(dir, { pollMs: 20, onError: (err) => errors.push(err) });
    try {
      expect(await users.verify('alice', 'a-pass')).toBe('alice');
      writeFileSync(usersFilePath(dir), TRUNCATED);
      await until(() => errors.length > 0);
      await new Promise((r) => setTimeout(r, 100)); // several more polls of the same broken file
      expect(errors).toHaveLength(1);
      expect(String(errors[0])).toMatch(/users\.json is not valid JSON/);
      expect(users.has('alice')).toBe(true);
      expect(await users.verify('alice', 'a-pass')).toBe('alice');
      unlinkSync(usersFilePath(dir)); // the operator starts over
      await userAdd(dir, 'bob', 'b-pass');
      await until(() => users.has('bob'));
      expect(users.list()).toEqual(['bob']);
    } finally {
      users.close();
    }
  });
});
