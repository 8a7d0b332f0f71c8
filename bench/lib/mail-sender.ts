// A lean SMTP/LMTP sender for load generation: one connection, many messages in a row, each
// counted only when the server acknowledged it (250 — durable, for both tegami and Dovecot here).
import net from 'node:net';
import { onLines } from './socket-lines.ts';

export type Dialect = 'smtp' | 'lmtp';

export class MailSender {
  private waiter: { resolve: (line: string) => void; reject: (e: Error) => void } | undefined;
  private readonly lines: string[] = [];

  private constructor(private readonly s: net.Socket) {
    onLines(s, (line) => {
      // multi-line replies ("250-…") end with the line whose fourth character is a space
      if (line[3] === '-') return;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(line);
      } else this.lines.push(line);
    });
    s.on('close', () => this.waiter?.reject(new Error('connection closed')));
  }

  static async connect(port: number, dialect: Dialect, host = '127.0.0.1'): Promise<MailSender> {
    const s = net.connect(port, host);
    await new Promise<void>((r, j) => s.once('connect', r).once('error', j));
    const c = new MailSender(s);
    await c.expect('220');
    s.write(`${dialect === 'lmtp' ? 'LHLO' : 'EHLO'} bench.local\r\n`);
    await c.expect('250');
    return c;
  }

  private reply(): Promise<string> {
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.s.destroyed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private async expect(code: string): Promise<void> {
    const line = await this.reply();
    if (!line.startsWith(code)) throw new Error(`expected ${code}, got: ${line}`);
  }

  /** Sends one message to one recipient; resolves once it is acknowledged. */
  async send(to: string, rfc822: string): Promise<void> {
    this.s.write(`MAIL FROM:<bench@example.com>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
    await this.expect('250');
    await this.expect('250');
    await this.expect('354');
    const body = rfc822.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    this.s.write(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
    await this.expect('250');
  }

  close(): void {
    this.s.end('QUIT\r\n');
    this.s.destroy();
  }
}

/** A small realistic message: headers, a paragraph or two, ~2 KB. */
export function benchMessage(n: number): string {
  const para = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt. ';
  return [
    `From: Bench Sender <bench@example.com>`,
    `To: someone@example.com`,
    `Subject: bench message ${n}`,
    `Message-ID: <bench-${n}-${process.pid}-${Date.now()}@example.com>`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    para.repeat(20),
    '',
  ].join('\r\n');
}
