// An unknown user name is checked with the same scrypt, in the same bounded lane, as a wrong
// password: nothing in the answer or its timing says which accounts exist.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OverloadedError } from '../../protocol/session-context.ts';
import { userAdd, UserDirectory } from '../../server/users/index.ts';

describe('password checks', () => {
  it('run the KDF for an unknown user as for a wrong password', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-kdf-'));
    await userAdd(data, 'alice', 'right'); // users.json: scrypt, as in production
    const dir = await UserDirectory.open(data, { hashConcurrency: 1, hashQueue: 0 });
    // one check holds the lane; a second that needs scrypt is refused, one that does not answers
    const busy = dir.verify('alice', 'wrong');
    await expect(dir.verify('alice', 'also-wrong')).rejects.toBeInstanceOf(OverloadedError);
    await expect(dir.verify('nobody', 'guess')).rejects.toBeInstanceOf(OverloadedError);
    expect(await busy).toBeUndefined();
    expect(await dir.verify('nobody', 'guess')).toBeUndefined();
    expect(await dir.verify('alice', 'right')).toBe('alice');
    dir.close();
  });
});
