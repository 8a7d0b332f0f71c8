// Invariant 3: a message that got "250" over SMTP is on disk. Kill -9 the server in the middle of a
// burst of deliveries; after a restart every acknowledged message is there.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pop3Login, pop3Multi } from '../helpers/pop3.ts';
import { startServerProcess } from '../helpers/server-process.ts';
import { sendMail } from '../helpers/smtp.ts';

describe('kill -9 during an SMTP burst', () => {
  it('loses no message that was acknowledged with 250', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tegami-kill9-'));
    const server = await startServerProcess(['--data', data, '--user', 'alice:secret']);
    const acked: string[] = [];
    let next = 0;
    let killed = false;
    const sender = async () => {
      while (!killed && next < 400) {
        const subject = `burst-${next++}`;
        try {
          await sendMail(server.ports.smtp, 'alice@example.org', subject);
          if (!killed) acked.push(subject);
        } catch {
          // refused or cut by the kill: not acknowledged, so no promise was made
        }
      }
    };
    const senders = Array.from({ length: 8 }, sender);
    const deadline = Date.now() + 15_000;
    while (acked.length < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    killed = true;
    const ackedAtKill = [...acked];
    await server.kill9();
    await Promise.all(senders);
    expect(ackedAtKill.length).toBeGreaterThan(0);

    const again = await startServerProcess(['--data', data, '--user', 'alice:secret']);
    try {
      const c = await pop3Login(again.ports.pop3, 'alice', 'secret');
      const stat = (await c.command('STAT'))!;
      const count = Number(stat.split(' ')[1]);
      const subjects = new Set<string>();
      for (let i = 1; i <= count; i++) {
        const top = await pop3Multi(c, `TOP ${i} 0`);
        const s = top.lines.find((l) => l.startsWith('Subject: '));
        if (s) subjects.add(s.slice(9));
      }
      c.close();
      const missing = ackedAtKill.filter((s) => !subjects.has(s));
      expect(missing).toEqual([]);
    } finally {
      await again.stop();
    }
  });
});
