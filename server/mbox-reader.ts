// Reads an mbox file (mboxrd/mboxo) as a stream of messages, without holding the file in memory.
// Each message comes out with CRLF line ends, ">From " quoting undone, and what the mbox said about
// it: the date of its "From " line, flags from Status/X-Status, and an X-UIDL a previous POP3 server
// gave it (kept, so a migrated "leave a copy" client re-downloads nothing — invariant 1).
import { createReadStream } from 'node:fs';

export interface MboxMessage {
  raw: Buffer;
  internalDate?: number;
  flags: string[];
  uidl?: string;
}

const FROM_ = Buffer.from('From ');
const CRLF = Buffer.from('\r\n');

function parseFromLineDate(line: string): number | undefined {
  // "From sender@example.com Thu Nov 20 10:00:00 2026"
  const m = /^From \S+\s+(.+)$/.exec(line);
  if (!m) return undefined;
  const t = Date.parse(m[1]!.trim());
  return Number.isFinite(t) ? t : undefined;
}

/** Looks at the header block only: Status/X-Status flags and X-UIDL. */
function headerFacts(raw: Buffer): { flags: string[]; uidl?: string } {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
  const flags = new Set<string>();
  let uidl: string | undefined;
  for (const line of head.split('\r\n')) {
    const m = /^(Status|X-Status|X-UIDL):\s*(.*)$/i.exec(line);
    if (!m) continue;
    const name = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (name === 'x-uidl') {
      if (value && /^[\x21-\x7e]{1,70}$/.test(value)) uidl = value;
      continue;
    }
    if (value.includes('R')) flags.add('\\Seen');
    if (value.includes('A')) flags.add('\\Answered');
    if (value.includes('F')) flags.add('\\Flagged');
    if (value.includes('T')) flags.add('\\Draft');
    if (value.includes('D')) flags.add('\\Deleted');
  }
  return { flags: [...flags], uidl };
}

function finish(lines: Buffer[], fromLine: string): MboxMessage {
  // The blank line that separates messages belongs to the mbox, not to the message.
  while (lines.length > 0 && lines[lines.length - 1]!.length === 0) lines.pop();
  const parts: Buffer[] = [];
  for (const l of lines) parts.push(l, CRLF);
  const raw = Buffer.concat(parts);
  return { raw, internalDate: parseFromLineDate(fromLine), ...headerFacts(raw) };
}

/** Undo mboxrd quoting: one '>' goes from lines that are '>'* followed by "From ". */
function unquote(line: Buffer): Buffer {
  let i = 0;
  while (i < line.length && line[i] === 0x3e) i++;
  if (i > 0 && line.subarray(i, i + 5).equals(FROM_)) return line.subarray(1);
  return line;
}

export class NotMboxError extends Error {
  override name = 'NotMboxError';
}

export interface MboxProgress {
  bytesRead: number;
  messages: number;
}

export async function* readMbox(path: string, progress?: MboxProgress): AsyncIterable<MboxMessage> {
  let carry: Buffer = Buffer.alloc(0);
  let lines: Buffer[] = [];
  let fromLine: string | undefined;
  let before = false; // something other than blank lines came before the first "From " line
  const onLine = function* (raw: Buffer): Generator<MboxMessage> {
    const line = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
    if (line.subarray(0, 5).equals(FROM_)) {
      if (fromLine !== undefined) {
        yield finish(lines, fromLine);
        if (progress) progress.messages++;
      }
      fromLine = line.toString('latin1');
      lines = [];
      return;
    }
    if (fromLine === undefined) {
      before ||= line.some((b) => b !== 0x20 && b !== 0x09); // bytes before the first "From " line are not a message
      return;
    }
    lines.push(unquote(line));
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    if (progress) progress.bytesRead += chunk.length;
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      yield* onLine(buf.subarray(start, nl));
      start = nl + 1;
    }
    carry = Buffer.from(buf.subarray(start));
  }
  if (carry.length) yield* onLine(carry);
  if (fromLine !== undefined) {
    yield finish(lines, fromLine);
    if (progress) progress.messages++;
  } else if (before) {
    throw new NotMboxError(`${path} is not an mbox file: no line starts with "From " (the separator before each message)`);
  }
}
