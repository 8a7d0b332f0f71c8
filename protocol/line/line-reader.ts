// Splits a byte stream into lines (CRLF or bare LF) with a length limit, as Buffers so that binary
// garbage is handled like any other bytes. An overlong line is reported once and the rest of it is
// discarded up to the next LF, so one bad line cannot grow memory or desynchronise the session.
export type LineEvent = { kind: 'line'; line: Buffer } | { kind: 'too-long' };

export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(private readonly maxLength: number) {}

  /** Feeds bytes in; returns the complete lines (and overflows) they finish, in order. */
  push(data: Buffer): LineEvent[] {
    const out: LineEvent[] = [];
    let start = 0;
    while (start < data.length) {
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
