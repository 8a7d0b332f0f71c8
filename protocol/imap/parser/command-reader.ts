// Frames IMAP commands out of a byte stream: a command is a line, plus any literals it announces
// ({n} synchronising — the server sends "+ Ready" first — or {n+} non-synchronising, RFC 7888), plus
// the rest of the line after each literal. Pure state machine, no I/O: the session feeds bytes in
// and acts on the events that come out. Limits keep one client from growing memory without bound.

/** `binary`: the literal came as a literal8 ("~{n}", RFC 3516). */
export type CommandPart = { text: string } | { literal: Buffer; binary?: boolean };

export type ReaderEvent =
  /** A complete command, as text segments and literal bytes in order. */
  | { kind: 'command'; parts: CommandPart[] }
  /** A synchronising literal was announced: ask the session whether to accept it. */
  | { kind: 'literal-request'; size: number; tag: string; partial: CommandPart[] }
  /** A line or literal over the limits; the reader has already dropped it. */
  | { kind: 'too-long'; tag: string }
  /** A non-synchronising literal too large to accept was announced; the connection must close. */
  | { kind: 'fatal'; tag: string; text: string };

export interface ReaderLimits {
  maxLine: number;
  maxLiteral: number;
  /** Non-synchronising literals above this are refused (LITERAL- would be 4096). */
  maxNonSyncLiteral: number;
  /** All literals of one command together. */
  maxCommand: number;
}

// "~{n}" is a literal8 (RFC 3516 4.1: BINARY servers accept one in APPEND); its bytes are taken as
// they are, like any literal's, so only the marker needs recognising.
const LITERAL_AT_END = /~?\{(\d{1,12})(\+?)\}\r?$/;

export class CommandReader {
  private buf: Buffer = Buffer.alloc(0);
  private parts: CommandPart[] = [];
  private commandBytes = 0;
  /** Bytes of literal still to read, and whether the session accepted it (else: discard). */
  private literalLeft = -1;
  private literalChunks: Buffer[] = [];
  private literal8 = false;
  private awaitingDecision = false;
  private discardLine = false;

  constructor(private readonly limits: ReaderLimits) {}

  /** The session's answer to a literal-request: accept (it sent "+ ") or refuse (it sent a NO). */
  decide(accept: boolean, size: number): ReaderEvent[] {
    this.awaitingDecision = false;
    if (accept) {
      this.literalLeft = size;
      this.literalChunks = [];
    } else {
      this.parts = [];
      this.commandBytes = 0;
    }
    return this.push(Buffer.alloc(0));
  }

  push(data: Buffer): ReaderEvent[] {
    if (data.length) this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    const out: ReaderEvent[] = [];
    while (!this.awaitingDecision) {
      if (this.literalLeft >= 0) {
        const take = Math.min(this.literalLeft, this.buf.length);
        if (take > 0) {
          this.literalChunks.push(this.buf.subarray(0, take));
          this.buf = this.buf.subarray(take);
          this.literalLeft -= take;
        }
        if (this.literalLeft > 0) break;
        this.parts.push(this.literal8 ? { literal: Buffer.concat(this.literalChunks), binary: true } : { literal: Buffer.concat(this.literalChunks) });
        this.literalChunks = [];
        this.literalLeft = -1;
        continue;
      }
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        if (this.buf.length > this.limits.maxLine) {
          out.push({ kind: 'too-long', tag: this.tagGuess(this.buf) });
          this.buf = Buffer.alloc(0);
          this.discardLine = true;
          this.parts = [];
        }
        break;
      }
      const lineBuf = this.buf.subarray(0, nl);
      this.buf = this.buf.subarray(nl + 1);
      if (this.discardLine) {
        this.discardLine = false;
        continue;
      }
      if (lineBuf.length > this.limits.maxLine) {
        out.push({ kind: 'too-long', tag: this.tagGuess(lineBuf) });
        this.parts = [];
        this.commandBytes = 0;
        continue;
      }
      let line = lineBuf.toString('latin1');
      if (line.endsWith('\r')) line = line.slice(0, -1);
      const m = LITERAL_AT_END.exec(line);
      if (!m) {
        this.parts.push({ text: line });
        out.push({ kind: 'command', parts: this.parts });
        this.parts = [];
        this.commandBytes = 0;
        continue;
      }
      const size = Number(m[1]);
      const nonSync = m[2] === '+';
      this.literal8 = m[0].startsWith('~');
      this.parts.push({ text: line.slice(0, m.index) });
      const tag = this.tagGuess(this.parts[0] && 'text' in this.parts[0] ? Buffer.from(this.parts[0].text, 'latin1') : lineBuf);
      this.commandBytes += size;
      const tooBig = size > this.limits.maxLiteral || this.commandBytes > this.limits.maxCommand;
      if (nonSync) {
        if (tooBig || size > this.limits.maxNonSyncLiteral) {
          out.push({ kind: 'fatal', tag, text: 'literal too large' });
          this.buf = Buffer.alloc(0);
          this.awaitingDecision = true; // nothing more is read from this connection
          break;
        }
        this.literalLeft = size;
        this.literalChunks = [];
        continue;
      }
      this.awaitingDecision = true;
      out.push({ kind: 'literal-request', size, tag, partial: this.parts });
    }
    return out;
  }

  private tagGuess(b: Buffer): string {
    const s = b.subarray(0, 64).toString('latin1');
    const m = /^([^\s(){%*"\\\]]+)/.exec(s);
    return m ? m[1]! : '*';
  }
}
