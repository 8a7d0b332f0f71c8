// The LevelDB backend checks every record it reads: a damaged record, or a store written in a newer
// format, is refused with an error that names it — never misread into wrong UIDs (invariant 1).
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, StoreFormatError, StoreUnavailableError } from '../../storage/index.ts';
import { removeTempDirs, tempDir } from './backends.ts';

afterEach(removeTempDirs);

async function rawPut(path: string, key: string, value: string): Promise<void> {
  const db = new Level<string, string>(path);
  await db.put(key, value);
  await db.close();
}

describe('LevelDB records', () => {
  it('refuses a store in a newer format with a clear error', async () => {
    const path = tempDir();
    await (await openStore({ path })).close();
    await rawPut(path, 'g!format', JSON.stringify({ format: 99 }));
    const err = await openStore({ path }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreFormatError);
    expect((err as Error).message).toMatch(/format 99.*newer tegami/);
  });

  it('refuses a message record of the wrong shape instead of listing it', async () => {
    const path = tempDir();
    let store = await openStore({ path });
    await store.ensureUser('alice');
    const { uid } = await store.append('alice', 'INBOX', Buffer.from('Subject: x\r\n\r\nhi\r\n'));
    const { id } = (await store.getMailbox('alice', 'INBOX'))!;
    await store.close();
    const key = `m!${id.toString(16).padStart(8, '0')}!${uid.toString(16).padStart(8, '0')}`;
    await rawPut(path, key, JSON.stringify([uid, 'twelve', 0, [], 1, 'u', 'b']));
    store = await openStore({ path });
    const err = await store.snapshot('alice', 'INBOX').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toContain(`stored record ${key} is not a message`);
    await store.close();
  });
});
