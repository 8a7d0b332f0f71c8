// Splits a byte stream into lines (CRLF or bare LF) with a length limit, as Buffers so that binary
// garbage is handled like any other bytes. An overlong line is reported once and the rest of it is
// discarded up to the next LF, so one bad line cannot grow memory or desynchronise the session.
export type LineEvent = { kind: 'line'; line: Buffer } | { kind: 'too-long' };

export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;
  /** Bytes read but not yet split, waiting for room (see push's `max`). */
  private unread: Buffer = Buffer.alloc(0);

  constructor(private readonly maxLength: number) {}

  /** Bytes read and not yet split into lines. */
  get backlog(): number {
    return this.unread.length;
  }

  /**
   * Feeds bytes in (or none); returns at most `max` complete lines (and overflows), in order. The
   * rest waits as bytes for the next call, so a burst of pipelined commands is not held as
   * thousands of lines.
   */
  push(input: Buffer, max = Infinity): LineEvent[] {
    const data = this.unread.length ? Buffer.concat([this.unread, input]) : input;
    this.unread = Buffer.alloc(0);
    const out: LineEvent[] = [];
    let start = 0;
    while (start < data.length) {
      if (out.length >= max) {
        this.unread = data.subarray(start);
        break;
      }
      const nl = data.indexOf(0x0a, start);
      const end = nl < 0 ? data.length : nl;
      if (!this.discarding) {
        const piece = data.subarray(start, end);
        if (this.size + piece.length > this.maxLength + 1) {
          this.parts = [];
          this.size = 0;
          this.discarding = true;
          out.push({ kind: 'too-long' });
        } else if (piece.length) {
          this.parts.push(piece);
          this.size += piece.length;
        }
      }
      if (nl < 0) break;
      if (!this.discarding) {
        let line = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
        if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
        out.push({ kind: 'line', line: Buffer.from(line) });
      }
      this.parts = [];
      this.size = 0;
      this.discarding = false;
      start = nl + 1;
    }
    return out;
  }

  /** Bytes held for an unfinished line. */
  get pending(): number {
    return this.size;
  }
}
