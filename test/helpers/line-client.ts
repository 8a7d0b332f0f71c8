// A raw TCP client for protocol tests: send lines, read lines, with timeouts so a test fails
// instead of hanging.
import net from 'node:net';
import tls from 'node:tls';

export class LineClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(public socket: net.Socket) {
    this.listen(socket);
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wakeAll();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wakeAll();
    });
    socket.on('error', () => undefined);
  }

  /** TLS from the first byte (IMAPS, POP3S). */
  static connectTls(port: number, options: tls.ConnectionOptions): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', ...options }, () => resolve(new LineClient(s)));
      s.once('error', reject);
    });
  }

  /** STARTTLS/STLS: after the server's go-ahead, the handshake over this connection; lines read before stay read. */
  async startTls(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, ...options }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
    return secure;
  }

  static connect(port: number, host = '127.0.0.1'): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new LineClient(s)));
      s.once('error', reject);
    });
  }

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async wait(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out; buffered: ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`)), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Next line without its CRLF; undefined once the server closed and nothing is left. */
  async line(timeoutMs = 5000): Promise<string | undefined> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.subarray(0, i).toString('latin1');
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      if (this.closed) return undefined;
      await this.wait(timeoutMs);
    }
  }

  /** Exactly `n` bytes (an IMAP literal's content, say). */
  async bytes(n: number, timeoutMs = 5000): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.closed) throw new Error(`connection closed with ${this.buf.length} of ${n} bytes`);
      await this.wait(timeoutMs);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Lines up to and including the first one that matches. */
  async until(match: (line: string) => boolean, timeoutMs = 5000): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.line(timeoutMs);
      if (l === undefined) throw new Error(`connection closed after ${JSON.stringify(out)}`);
      out.push(l);
      if (match(l)) return out;
    }
  }

  /** Resolves when the server has closed the connection. */
  async ended(timeoutMs = 5000): Promise<void> {
    while (!this.closed) await this.wait(timeoutMs);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  send(line: string): void {
    this.socket.write(line + '\r\n');
  }

  async command(line: string, timeoutMs = 5000): Promise<string | undefined> {
    this.send(line);
    return this.line(timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}
