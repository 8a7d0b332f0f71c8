// Frames IMAP commands out of a byte stream: a command is a line, plus any literals it announces
// ({n} synchronising — the server sends "+ Ready" first — or {n+} non-synchronising, RFC 7888), plus
// the rest of the line after each literal. Pure state machine, no I/O: the session feeds bytes in
// and acts on the events that come out.
//
// Every literal, of either kind, waits for the session's decision before one byte of it is taken:
// only the session knows, in command order, whether the client is logged in and which command the
// literal belongs to, so only it can apply the right limit (a few KB before login, the message
// size for APPEND). The session stops feeding bytes while a decision is pending, so nothing piles
// up here meanwhile.

/** `binary`: the literal came as a literal8 ("~{n}", RFC 3516). */
export type CommandPart = { text: string } | { literal: Buffer; binary?: boolean };

export type ReaderEvent =
  /** A complete command, as text segments and literal bytes in order. */
  | { kind: 'command'; parts: CommandPart[] }
  /**
   * A literal was announced: the reader waits for decide(). `sync` literals may be refused and the
   * session goes on; refusing a non-synchronising one (its bytes are already on their way) ends
   * the reader, and the session closes the connection.
   */
  | { kind: 'literal'; size: number; sync: boolean; tag: string; partial: CommandPart[]; commandBytes: number }
  /** A line over the limit; the reader has already dropped it. */
  | { kind: 'too-long'; tag: string };

export interface ReaderLimits {
  maxLine: number;
}

// "~{n}" is a literal8 (RFC 3516 4.1: BINARY servers accept one in APPEND); its bytes are taken as
// they are, like any literal's, so only the marker needs recognising.
const LITERAL_AT_END = /~?\{(\d{1,12})(\+?)\}\r?$/;

export class CommandReader {
  private buf: Buffer = Buffer.alloc(0);
  private parts: CommandPart[] = [];
  /** The command's text and literal bytes so far (the session bounds a command's total). */
  private commandBytes = 0;
  /** Bytes of literal still to read. */
  private literalLeft = -1;
  private literalChunks: Buffer[] = [];
  private literal8 = false;
  private pending: { size: number; sync: boolean } | undefined;
  private dead = false;
  private discardLine = false;

  constructor(private readonly limits: ReaderLimits) {}

  /** True while a literal waits for decide(): feed no more bytes until then. */
  get waiting(): boolean {
    return this.pending !== undefined || this.dead;
  }

  /** The session's answer to a 'literal' event; push() frames what follows. */
  decide(accept: boolean): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    if (accept) {
      this.literalLeft = p.size;
      this.literalChunks = [];
    } else if (p.sync) {
      this.parts = [];
      this.commandBytes = 0;
    } else {
      this.dead = true;
      this.buf = Buffer.alloc(0);
    }
  }

  /** Bytes read but not yet framed (the session stops reading while there are too many). */
  get backlog(): number {
    return this.literalLeft >= 0 ? 0 : this.buf.length;
  }

  /**
   * Feeds bytes in (or none) and frames at most `max` events; the rest waits in the backlog for
   * the next call, so a burst of pipelined commands is held as bytes, not as thousands of parsed
   * commands.
   */
  push(data: Buffer, max = Infinity): ReaderEvent[] {
    if (this.dead) return [];
    if (data.length) this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    const out: ReaderEvent[] = [];
    while (!this.pending && out.length < max) {
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
          if (!this.discardLine) out.push({ kind: 'too-long', tag: this.tagGuess(this.buf) });
          this.buf = Buffer.alloc(0);
          this.discardLine = true;
          this.parts = [];
          this.commandBytes = 0;
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
      this.literal8 = m[0].startsWith('~');
      this.parts.push({ text: line.slice(0, m.index) });
      const first = this.parts[0]!;
      const tag = this.tagGuess('text' in first ? Buffer.from(first.text, 'latin1') : lineBuf);
      this.pending = { size: Number(m[1]), sync: m[2] !== '+' };
      this.commandBytes += line.length + this.pending.size;
      out.push({ kind: 'literal', size: this.pending.size, sync: this.pending.sync, tag, partial: this.parts, commandBytes: this.commandBytes });
    }
    return out;
  }

  private tagGuess(b: Buffer): string {
    const s = b.subarray(0, 64).toString('latin1');
    const m = /^([^\s(){%*"\\\]]+)/.exec(s);
    return m ? m[1]! : '*';
  }
}
