// Python's poplib as a "leave a copy on the server" client: it remembers the UIDLs it has and
// downloads only new ones. 20 delivered → 20 new, again → 0, 5 more → 5.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/protocol-harness.ts';
import { handlePop3Connection } from '../../protocol/pop3/index.ts';

const CLIENT = `
import json, os, poplib, sys
port, state = int(sys.argv[1]), sys.argv[2]
seen = set(json.load(open(state))) if os.path.exists(state) else set()
p = poplib.POP3('127.0.0.1', port, timeout=10)
p.user('alice'); p.pass_('secret')
new = 0
for line in p.uidl()[1]:
    num, uid = line.decode().split(' ', 1)
    if uid not in seen:
        p.retr(int(num)); seen.add(uid); new += 1
p.quit()
json.dump(sorted(seen), open(state, 'w'))
print(new)
`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
});

describe('poplib keep-on-server', () => {
  it('downloads 20, then 0, then the 5 new ones', async () => {
    h = await startHarness(handlePop3Connection);
    const state = join(mkdtempSync(join(tmpdir(), 'tegami-poplib-')), 'seen.json');
    // async: the server runs in this process and must keep answering while python polls
    const poll = async () => Number((await promisify(execFile)('python3', ['-c', CLIENT, String(h!.port), state])).stdout.trim());
    for (let i = 0; i < 20; i++) await h.store.deliver(['alice'], Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
    expect(await poll()).toBe(20);
    expect(await poll()).toBe(0);
    for (let i = 0; i < 5; i++) await h.store.deliver(['alice'], Buffer.from(`Subject: n${i}\r\n\r\nnew ${i}\r\n`));
    expect(await poll()).toBe(5);
  });
});
