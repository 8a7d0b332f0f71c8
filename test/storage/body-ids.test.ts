// Bodies are keyed in the order they were written (storage/engine/body-ids.ts), so LevelDB can move
// files of old mail down its levels instead of rewriting them with every flush of new mail.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../storage/index.ts';
import { BodyIdSource } from '../../storage/engine/body-ids.ts';
import { refKey } from '../../storage/level/keys.ts';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('body ids', () => {
  it('sort in the order they were made, many in one millisecond included', () => {
    const src = new BodyIdSource();
    const ids = Array.from({ length: 5000 }, () => src.next());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('stay unique when the clock went back across a restart', () => {
    const now = vi.spyOn(Date, 'now').mockReturnValue(1_800_000_000_000);
    const before = Array.from({ length: 2000 }, () => new BodyIdSource().next());
    now.mockReturnValue(1_800_000_000_000); // the same instant again: a restarted process
    const after = Array.from({ length: 2000 }, () => new BodyIdSource().next());
    expect(new Set([...before, ...after]).size).toBe(4000);
  });

  it('put the bodies of successive deliveries in delivery order on disk', async () => {
    const path = mkdtempSync(join(tmpdir(), 'tegami-bodyids-'));
    dirs.push(path);
    const store = await openStore({ path });
    await store.ensureUser('alice');
    const subjects = Array.from({ length: 30 }, (_, i) => `message ${String(i).padStart(2, '0')}`);
    for (const s of subjects) await store.deliver(['alice'], Buffer.from(`Subject: ${s}\r\n\r\nhi\r\n`));
    await store.close();

    const db = new Level<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    const inKeyOrder: string[] = [];
    for await (const [key, value] of db.iterator({ gt: 'b!', lt: 'b~' })) {
      if (key.endsWith('!0000')) inKeyOrder.push(/^Subject: (.*)\r\n/.exec(value)![1]!);
    }
    await db.close();
    expect(inKeyOrder).toEqual(subjects);
  });

  it('key references to ordered bodies by the random tail, so a mass expunge leaves no run of tombstones; older ids keep their keys', () => {
    const src = new BodyIdSource();
    const ids = Array.from({ length: 30 }, () => src.next());
    const refs = ids.map((b) => refKey(b, 1, 1));
    expect([...refs].sort()).not.toEqual(refs);
    for (const [i, b] of ids.entries()) expect(refs[i]).toContain(b.slice(14) + b.slice(0, 14));
    // A store written before ordered ids (random 12-character ids) reads its references where they are.
    expect(refKey('Zm9vYmFyYmF6', 1, 2)).toBe('r!Zm9vYmFyYmF6!00000001!00000002');
  });
});
