// Streams a stored message as a POP3 multi-line answer: "." doubled at line starts, bare LF sent as
// CRLF, the terminating ".", and for TOP only the header plus the first N body lines. The message is
// never held whole: chunks go out as they come, with back-pressure.
//
// The first chunk is read before the status line is written, so a store failure is still an "-ERR".
// A failure after that cannot be reported in-band: the connection is cut before the final ".", so
// the client never takes a truncated message for a whole one.

export interface BodyWriter {
  write(chunk: Buffer): boolean;
  drained(): Promise<void>;
  abort(): void;
}

const DOT = Buffer.from('.');
const CR = Buffer.from('\r');

interface StuffState {
  lineStart: boolean;
  prevCR: boolean;
  /** Bytes of the current line seen so far, CR included. */
  lineBytes: number;
  inHeader: boolean;
  bodyLines: number;
  done: boolean;
}

/** Transforms one chunk; stops at a line end once `maxBodyLines` body lines went out. */
export function stuffChunk(buf: Buffer, st: StuffState, maxBodyLines: number): Buffer[] {
  const out: Buffer[] = [];
  let seg = 0;
  let p = 0;
  while (p < buf.length && !st.done) {
    if (st.lineStart) {
      if (!st.inHeader && st.bodyLines >= maxBodyLines) {
        st.done = true;
        break;
      }
      if (buf[p] === 0x2e) {
        out.push(buf.subarray(seg, p), DOT);
        seg = p;
      }
      st.lineStart = false;
    }
    const nl = buf.indexOf(0x0a, p);
    if (nl < 0) {
      st.lineBytes += buf.length - p;
      st.prevCR = buf[buf.length - 1] === 0x0d;
      p = buf.length;
      break;
    }
    const hadCR = nl > p ? buf[nl - 1] === 0x0d : st.prevCR && st.lineBytes > 0;
    const lineLen = st.lineBytes + (nl - p);
    if (!hadCR) {
      out.push(buf.subarray(seg, nl), CR);
      seg = nl;
    }
    const blank = lineLen === 0 || (lineLen === 1 && hadCR);
    if (st.inHeader) {
      if (blank) st.inHeader = false;
    } else st.bodyLines++;
    st.lineBytes = 0;
    st.prevCR = false;
    st.lineStart = true;
    p = nl + 1;
  }
  out.push(buf.subarray(seg, p));
  return out;
}

export async function writeDotStuffed(
  w: BodyWriter, body: AsyncIterable<Buffer>, status: string, maxBodyLines: number,
): Promise<void> {
  const it = body[Symbol.asyncIterator]();
  let r = await it.next(); // a failure here is still reported as "-ERR" by the caller
  try {
    w.write(Buffer.from(status + '\r\n'));
    const st: StuffState = { lineStart: true, prevCR: false, lineBytes: 0, inHeader: true, bodyLines: 0, done: false };
    for (; !r.done; r = await it.next()) {
      const parts = stuffChunk(r.value, st, maxBodyLines);
      if (!w.write(Buffer.concat(parts))) await w.drained();
      if (st.done) break;
    }
    w.write(Buffer.from(st.lineStart ? '.\r\n' : '\r\n.\r\n'));
  } catch {
    w.abort();
  } finally {
    await it.return?.();
  }
}
