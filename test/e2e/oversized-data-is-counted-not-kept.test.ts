// SMTP/LMTP DATA over --max-message-size is counted while it streams and dropped, then answered
// 552: the server never holds more of it than the limit (it used to buffer all of it first).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startServerProcess } from '../helpers/server-process.ts';

/** Peak resident memory of a process so far, bytes (Linux). */
const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

async function session(port: number) {
  const s = net.connect(port, '127.0.0.1');
  let buf = '';
  const waiters: (() => void)[] = [];
  s.on('data', (d) => {
    buf += d.toString('latin1');
    waiters.splice(0).forEach((w) => w());
  });
  s.on('error', () => undefined);
  const reply = async (): Promise<string> => {
    for (;;) {
      const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(buf);
      if (m) {
        buf = buf.slice(m.index + m[0].length);
        return m[0].trim();
      }
      await new Promise<void>((r, j) => {
        const t = setTimeout(() => j(new Error(`no reply; got ${JSON.stringify(buf.slice(-200))}`)), 30_000);
        waiters.push(() => (clearTimeout(t), r()));
      });
    }
  };
  await new Promise((r) => s.once('connect', r));
  return { s, reply, send: (l: string) => s.write(l + '\r\n') };
}

describe('oversized DATA', () => {
  it('is answered 552 without being held: 100 MB against a 1 MB limit', async () => {
    const server = await startServerProcess(['--memory', '--user', 'alice:p', '--max-message-size', '1000000', '--log-level', 'error']);
    try {
      for (const proto of ['smtp', 'lmtp'] as const) {
        const c = await session(server.ports[proto]);
        expect(await c.reply()).toMatch(/^220/);
        c.send(`${proto === 'smtp' ? 'EHLO' : 'LHLO'} test`);
        await c.reply();
        c.send('MAIL FROM:<a@example.com>');
        expect(await c.reply()).toMatch(/^250/);
        c.send('RCPT TO:<alice@example.com>');
        expect(await c.reply()).toMatch(/^250/);
        c.send('DATA');
        expect(await c.reply()).toMatch(/^354/);
        const before = peakRss(server.child.pid!);
        const line = Buffer.from('x'.repeat(998) + '\r\n');
        const chunk = Buffer.concat(Array(1024).fill(line)); // 1 MB
        for (let i = 0; i < 100; i++) if (!c.s.write(chunk)) await new Promise((r) => c.s.once('drain', r));
        c.s.write('.\r\n');
        expect(await c.reply()).toMatch(/^552/);
        // the limit plus buffers, not the 100 MB (it grew by all of it before)
        expect(peakRss(server.child.pid!) - before).toBeLessThan(48 << 20);
        c.send('QUIT');
        c.s.destroy();
      }
    } finally {
      await server.stop();
    }
  }, 120_000);
});
