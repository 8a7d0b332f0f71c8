// An IMAP client that SELECTs INBOX, IDLEs, and reports when a new EXISTS arrives: IDLE fan-out is
// the time from a delivery's acknowledgement to the moment every idling client has seen it.
import net from 'node:net';
import { onLines } from './socket-lines.ts';

export class IdleWatcher {
  /** The latest EXISTS count seen (from SELECT, then from IDLE updates). */
  exists = 0;
  private onExists: ((n: number) => void) | undefined;
  private onLine: ((line: string) => void) | undefined;

  private constructor(private readonly s: net.Socket) {
    onLines(s, (line) => {
      const m = /^\* (\d+) EXISTS/.exec(line);
      if (m) this.exists = Number(m[1]);
      if (m && this.onExists) this.onExists(this.exists);
      this.onLine?.(line);
    });
  }

  private waitLine(test: (l: string) => boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('IMAP answer timed out')), 30_000);
      this.onLine = (l) => {
        if (!test(l)) return;
        clearTimeout(t);
        this.onLine = undefined;
        resolve(l);
      };
    });
  }

  static async start(port: number, user: string, pass: string, host = '127.0.0.1'): Promise<IdleWatcher> {
    const s = net.connect(port, host);
    const w = new IdleWatcher(s);
    const greeted = w.waitLine((l) => l.startsWith('* '));
    await new Promise<void>((r, j) => s.once('connect', r).once('error', j));
    await greeted;
    for (const [tag, cmd] of [['a', `LOGIN ${user} ${pass}`], ['b', 'SELECT INBOX']] as const) {
      const done = w.waitLine((l) => l.startsWith(`${tag} `));
      s.write(`${tag} ${cmd}\r\n`);
      const l = await done;
      if (!l.startsWith(`${tag} OK`)) throw new Error(`${cmd.split(' ')[0]} failed: ${l}`);
    }
    const idling = w.waitLine((l) => l.startsWith('+'));
    s.write('i IDLE\r\n');
    await idling;
    return w;
  }

  /** Resolves with the time (performance.now()) at which an EXISTS above `count` arrived. */
  nextExists(count: number, timeoutMs = 30_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no EXISTS in time')), timeoutMs);
      this.onExists = (n) => {
        if (n <= count) return;
        clearTimeout(t);
        this.onExists = undefined;
        resolve(performance.now());
      };
    });
  }

  close(): void {
    this.s.end('DONE\r\ni LOGOUT\r\n');
    this.s.destroy();
  }
}
