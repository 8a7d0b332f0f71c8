// A lean IMAP client session for load generation: LOGIN, SELECT INBOX, UID FETCH 1:* (UID FLAGS),
// LOGOUT — timed, with the UID list hashed so a bench can count lists that differ.
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { PollResult } from './pop3-session.ts';

export function imapSync(host: string, port: number, user: string, pass: string, timeoutMs = 30_000): Promise<PollResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.setNoDelay(true);
    let buf = '';
    let step = 0;
    let tAuth = 0;
    let authMs: number | undefined;
    const uids: string[] = [];
    let done = false;
    const finish = (r: Omit<PollResult, 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ ...r, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), timeoutMs);
    s.on('error', (e) => finish({ ok: false, error: (e as NodeJS.ErrnoException).code ?? 'socket error' }));
    s.on('close', () => finish({ ok: false, error: 'closed early' }));
    const code = (line: string) => {
      const m = /^(\S+) (NO|BAD|BYE)(?: \[([^\]]+)\])?/.exec(line);
      return m ? `${m[1] === '*' ? 'BYE' : m[2]}${m[3] ? ` [${m[3]}]` : ''}` : `bad reply: ${line.slice(0, 40)}`;
    };
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (step === 0) {
          if (!line.startsWith('* OK')) return finish({ ok: false, error: code(line) });
          step = 1;
          tAuth = performance.now();
          s.write(`a LOGIN ${user} ${pass}\r\n`);
        } else if (line.startsWith('* ')) {
          const m = /^\* \d+ FETCH \(UID (\d+)/.exec(line);
          if (m) uids.push(m[1]!);
        } else if (line.startsWith('a ') || line.startsWith('b ') || line.startsWith('c ')) {
          if (!/^\S+ OK/.test(line)) return finish({ ok: false, error: code(line), authMs });
          if (step === 1) {
            authMs = performance.now() - tAuth;
            step = 2;
            s.write('b SELECT INBOX\r\n');
          } else if (step === 2) {
            step = 3;
            s.write('c UID FETCH 1:* (UID FLAGS)\r\n');
          } else if (step === 3) {
            step = 4;
            s.write('d LOGOUT\r\n');
            return finish({ ok: true, authMs, messages: uids.length, uidlHash: createHash('sha256').update(uids.join(',')).digest('hex').slice(0, 16) });
          }
        }
      }
    });
  });
}
