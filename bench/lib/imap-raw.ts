// A bare IMAP client for load generation: tagged commands over one socket, answers collected as
// bytes, so that client-side parsing does not dominate the measurement.
import net from 'node:net';

export class RawImap {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private n = 0;
  bytesIn = 0;

  private constructor(private readonly s: net.Socket) {
    s.on('data', (d: Buffer) => {
      this.bytesIn += d.length;
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.waiter?.();
    });
    s.on('close', () => this.waiter?.());
  }

  static async connect(port: number, user: string, pass: string): Promise<RawImap> {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    await new Promise<void>((r, j) => s.once('connect', r).once('error', j));
    const c = new RawImap(s);
    await c.until(Buffer.from('\r\n'));
    const r = await c.command(`LOGIN ${user} ${pass}`);
    if (!/ OK /.test(r.tail)) throw new Error(`login failed: ${r.tail}`);
    return c;
  }

  private async until(marker: Buffer): Promise<void> {
    for (;;) {
      const i = this.buf.indexOf(marker);
      if (i >= 0) {
        this.buf = this.buf.subarray(i + marker.length);
        return;
      }
      if (this.s.destroyed) throw new Error('connection closed');
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }

  /** Sends a command and waits for its tagged answer; returns the bytes and the tagged line. */
  async command(text: string): Promise<{ bytes: number; tail: string }> {
    const tag = `t${++this.n}`;
    this.s.write(`${tag} ${text}\r\n`);
    const startIn = this.bytesIn - this.buf.length;
    // The tagged line starts at a line start: "\r\n<tag> " (or at the very beginning).
    const data = await this.untilTagged(tag);
    const tail = data.subarray(data.lastIndexOf(`${tag} `)).toString('latin1').trim();
    return { bytes: this.bytesIn - startIn, tail };
  }

  /**
   * Waits for the tagged line and returns the bytes from its start. Bytes before it are dropped as
   * they arrive (only their count matters), so a 100 MB answer costs O(n), not O(n²).
   */
  private async untilTagged(tag: string): Promise<Buffer> {
    const marker = Buffer.from(`\r\n${tag} `);
    // the answer starts at a line start: a CRLF in front lets one marker find a tagged first line too
    this.buf = Buffer.concat([Buffer.from('\r\n'), this.buf]);
    let lineStart = -1;
    for (;;) {
      if (lineStart < 0) {
        const i = this.buf.indexOf(marker);
        if (i >= 0) {
          this.buf = this.buf.subarray(i + 2);
          lineStart = 0;
        } else if (this.buf.length >= marker.length) {
          this.buf = Buffer.from(this.buf.subarray(this.buf.length - marker.length + 1));
        }
      }
      if (lineStart === 0) {
        const end = this.buf.indexOf('\r\n');
        if (end >= 0) {
          const out = this.buf.subarray(0, end + 2);
          this.buf = this.buf.subarray(end + 2);
          return out;
        }
      }
      if (this.s.destroyed) throw new Error('connection closed');
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }

  close(): void {
    this.s.destroy();
  }
}
