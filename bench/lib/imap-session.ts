// A lean IMAP client session for load generation: LOGIN, SELECT INBOX, UID FETCH 1:* (UID FLAGS),
// LOGOUT — timed, with the UID list hashed so a bench can count lists that differ.
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { PollResult } from './pop3-session.ts';

const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');
const FETCH_DONE = Buffer.from('\r\nc ');

/**
 * The UID list is checked as the bytes of the whole FETCH answer ("* n FETCH (UID u FLAGS (…))"
 * lines): nothing in a bench changes flags, so equal bytes mean an equal list, and hashing bytes as
 * they arrive costs the generator far less than parsing 5,000 lines per session. With `keepUids`
 * the UIDs themselves come back too, for a bench that checks which messages are left.
 */
export function imapSync(
  host: string, port: number, user: string, pass: string, timeoutMs = 30_000, keepUids = false,
): Promise<PollResult & { uids?: number[] }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.setNoDelay(true);
    let buf: Buffer = EMPTY;
    let scanned = 0;
    let step = 0;
    let tAuth = 0;
    let authMs: number | undefined;
    let messages: number | undefined;
    let done = false;
    const finish = (r: Omit<PollResult, 'ms'> & { uids?: number[] }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ ...r, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), timeoutMs);
    s.on('error', (e) => finish({ ok: false, error: (e as NodeJS.ErrnoException).code ?? 'socket error', failedAt: step === 0 ? 'greeting' : undefined }));
    s.on('close', () => finish({ ok: false, error: 'closed early' }));
    const code = (line: string) => {
      const m = /^(\S+) (NO|BAD|BYE)(?: \[([^\]]+)\])?/.exec(line);
      return m ? `${m[1] === '*' ? 'BYE' : m[2]}${m[3] ? ` [${m[3]}]` : ''}` : `bad reply: ${line.slice(0, 40)}`;
    };
    s.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        if (step === 3) {
          // the FETCH answer: untagged lines up to the tagged one; search only what is new
          const at = buf.indexOf(FETCH_DONE, scanned);
          if (at < 0) {
            scanned = Math.max(0, buf.length - FETCH_DONE.length);
            return;
          }
          const end = buf.indexOf(CRLF, at + 2);
          if (end < 0) return;
          const tagged = buf.toString('latin1', at + 2, end);
          if (!/^c OK/.test(tagged)) return finish({ ok: false, error: code(tagged), authMs });
          const body = buf.subarray(CRLF.length, at + 2);
          s.write('d LOGOUT\r\n');
          const uids = keepUids ? [...body.toString('latin1').matchAll(/^\* \d+ FETCH \(UID (\d+)/gm)].map((m) => Number(m[1])) : undefined;
          return finish({ ok: true, authMs, messages, uidlHash: createHash('sha256').update(body).digest('hex').slice(0, 16), uids });
        }
        const i = buf.indexOf(CRLF);
        if (i < 0) return;
        const line = buf.toString('latin1', 0, i);
        buf = buf.subarray(i + 2);
        if (step === 0) {
          if (!line.startsWith('* OK')) return finish({ ok: false, error: code(line) });
          step = 1;
          tAuth = performance.now();
          s.write(`a LOGIN ${user} ${pass}\r\n`);
        } else if (line.startsWith('* ')) {
          const exists = / (\d+) EXISTS$/.exec(line); // SELECT's count; the FETCH answer's bytes are hashed whole
          if (exists) messages = Number(exists[1]);
        } else if (!/^\S+ OK/.test(line)) {
          return finish({ ok: false, error: code(line), authMs });
        } else if (step === 1) {
          authMs = performance.now() - tAuth;
          step = 2;
          s.write('b SELECT INBOX\r\n');
        } else if (step === 2) {
          step = 3;
          // a CRLF in front lets the marker find a tagged line that comes first (an empty mailbox)
          buf = Buffer.concat([CRLF, buf]);
          scanned = 0;
          s.write('c UID FETCH 1:* (UID FLAGS)\r\n');
        }
      }
    });
  });
}
