// The on-disk database's shortcut past abstract-level's batch checks (storage/level/classic-db.ts):
// writes land and read back, and a write to a closed database is an error, never a crash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { classicDb } from '../../storage/level/classic-db.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const open = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tegami-classic-'));
  dirs.push(dir);
  return classicDb(new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' }));
};

describe('classic-level with direct batches', () => {
  it('writes puts and deletes that read back, and refuses a batch once closed', async () => {
    const db = open();
    await db.open();
    await db.batch([{ type: 'put', key: 'a', value: Buffer.from('1') }, { type: 'put', key: 'b', value: Buffer.from('2') }], { sync: true });
    await db.batch([{ type: 'del', key: 'a' }], { sync: true });
    expect((await db.getMany(['a', 'b'])).map((v) => (v ? Buffer.from(v).toString() : undefined))).toEqual([undefined, '2']);
    await db.close();
    await expect(db.batch([{ type: 'put', key: 'c', value: Buffer.from('3') }], { sync: true })).rejects.toThrow(/not open/);
  });
});
