// A lean POP3 client for load generation: one "leave a copy" poll (connect, USER/PASS, STAT, UIDL,
// QUIT), timed, with the UIDL list hashed so the bench can count distinct lists.
import { createHash } from 'node:crypto';
import net from 'node:net';

export interface PollResult {
  ok: boolean;
  /** The first -ERR seen, e.g. "-ERR [SYS/TEMP]", or a socket error name. */
  error?: string;
  ms: number;
  authMs?: number;
  uidlHash?: string;
  messages?: number;
  /** The UIDL lines themselves ("n uid"), when asked for with `keepList`. */
  uidl?: string[];
  /** Where a failed session stopped: greeting, auth, stat, uidl or quit. */
  failedAt?: string;
}

const STEPS = ['greeting', 'auth', 'auth', 'stat', 'uidl', 'quit'];
const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');
const LIST_END = Buffer.from('\r\n.\r\n');
const MINUS = 0x2d;

function respCode(line: string): string {
  const m = /^-ERR(?: (\[[^\]]+\]))?/.exec(line);
  return m ? `-ERR${m[1] ? ' ' + m[1] : ''}` : `bad reply: ${line.slice(0, 40)}`;
}

export function pop3Poll(
  host: string, port: number, user: string, pass: string, timeoutMs = 30_000, keepList = false,
): Promise<PollResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.setNoDelay(true);
    // Bytes, not strings: at thousands of sessions a second the generator shares the machine's two
    // cores with the server, and every microsecond it spends is one the server does not get.
    let buf: Buffer = EMPTY;
    let scanned = 0;
    let step = 0;
    let tAuth = 0;
    let authMs: number | undefined;
    let messages: number | undefined;
    let lines: string[] | undefined;
    const uidl = createHash('sha256');
    let done = false;
    const finish = (r: Omit<PollResult, 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ ...r, ms: performance.now() - t0 });
    };
    const fail = (error: string) => finish({ ok: false, error, failedAt: STEPS[step], authMs });
    const timer = setTimeout(() => fail('timeout'), timeoutMs);
    s.on('error', (e) => fail((e as NodeJS.ErrnoException).code ?? 'socket error'));
    s.on('close', () => fail('closed early'));
    s.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        if (step === 4 && buf.length && buf[0] !== MINUS) {
          // multi-line UIDL answer: status line, one line per message, "."; search only what
          // arrived since the last look, so a 100k-line answer costs O(n), not O(n²)
          const end = buf.indexOf(LIST_END, scanned);
          if (end < 0) {
            scanned = Math.max(0, buf.length - LIST_END.length);
            return;
          }
          const body = buf.subarray(buf.indexOf(CRLF) + 2, end + 2);
          uidl.update(body);
          if (keepList) lines = body.length ? body.toString('latin1', 0, body.length - 2).split('\r\n') : [];
          buf = buf.subarray(end + LIST_END.length);
          step = 5;
          s.write('QUIT\r\n');
          continue;
        }
        const i = buf.indexOf(CRLF);
        if (i < 0) return;
        const line = buf.toString('latin1', 0, i);
        buf = buf.subarray(i + 2);
        if (!line.startsWith('+OK')) return fail(respCode(line));
        switch (step) {
          case 0: step = 1; tAuth = performance.now(); s.write(`USER ${user}\r\n`); break;
          case 1: step = 2; s.write(`PASS ${pass}\r\n`); break;
          case 2: step = 3; authMs = performance.now() - tAuth; s.write('STAT\r\n'); break;
          case 3: step = 4; messages = Number(line.split(' ')[1]); s.write('UIDL\r\n'); break;
          case 5: return finish({ ok: true, authMs, messages, uidlHash: uidl.digest('hex').slice(0, 16), uidl: lines });
        }
      }
    });
  });
}
