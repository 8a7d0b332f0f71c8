// Below the free-space floor, new mail gets a temporary answer (SMTP/LMTP 452 4.3.1, IMAP APPEND
// NO [OVERQUOTA]) while deletions still commit, so users can make room before the disk is full.
// A floor above any disk's size puts the server there on any machine; the real thing, on a small
// tmpfs, is test/e2e/disk-full-recovers-without-restart.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../server/index.ts';
import { userAdd } from '../../server/users/index.ts';
import { imapAppend, imapCommand, imapLogin } from '../helpers/imap.ts';
import { pop3Login } from '../helpers/pop3.ts';
import { BIN } from '../helpers/server-process.ts';
import { sendRaw } from '../helpers/smtp.ts';

const mail = (s: string) => `From: a@example.com\r\nSubject: ${s}\r\n\r\nbody\r\n`;

describe('below the free-space floor', () => {
  it('refuses new mail with temporary codes and still commits deletions', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tegami-floor-'));
    const users = { alice: 'secret' };
    const before = await startServer({ dataDir, users, minFreeSpace: 0 });
    for (const s of ['one', 'two', 'three']) await before.deliver('alice', mail(s));
    await before.close();

    await using server = await startServer({ dataDir, users, minFreeSpace: Number.MAX_SAFE_INTEGER, metricsPort: 0 });
    expect(await sendRaw(server.ports.smtp, 'alice@example.com', mail('smtp'))).toMatch(/^452 4\.3\.1 /);
    expect(await sendRaw(server.ports.lmtp, 'alice@example.com', mail('lmtp'), { lmtp: true })).toMatch(/^452 4\.3\.1 /);
    const imap = await imapLogin(server.ports.imap, 'alice', 'secret');
    expect(await imapAppend(imap, 'INBOX', Buffer.from(mail('append')))).toMatch(/^NO \[OVERQUOTA\] /);

    // Deleting still works, over POP3 and IMAP.
    const pop = await pop3Login(server.ports.pop3, 'alice', 'secret');
    expect(await pop.command('DELE 1')).toMatch(/^\+OK/);
    expect(await pop.command('QUIT')).toMatch(/^\+OK/);
    pop.close();
    expect(await imapCommand(imap, 'SELECT INBOX')).toMatch(/^OK/);
    expect(await imapCommand(imap, 'STORE 1 +FLAGS (\\Deleted)')).toMatch(/^OK/);
    expect(await imapCommand(imap, 'EXPUNGE')).toMatch(/^OK/);
    imap.close();
    expect((await server.messages('alice')).map((m) => m.subject)).toEqual(['three']);

    const base = `http://127.0.0.1:${server.ports.metrics}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^tegami_store_state\{state="ok"\} 1$/m);
    expect(metrics).toMatch(/^tegami_data_free_bytes \d+$/m);
    expect((await fetch(`${base}/readyz`)).status).toBe(200); // the store is fine; only new mail waits
  });

  it('stops tegami import with a clear error', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tegami-floor-'));
    const mbox = join(dataDir, 'in.mbox');
    writeFileSync(mbox, 'From x Thu Nov 20 10:00:00 2026\nSubject: m\n\nbody\n');
    await userAdd(dataDir, 'alice', 'secret');
    const r = spawnSync(process.execPath, [BIN, 'import', 'alice', mbox, '--data', dataDir, '--min-free-space', '1000000t'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^tegami: mail storage is full \(.* MB free, floor .* MB\)/m);
  });
});
