// The MIME structure of a message with the byte offsets of every part, computed once at delivery and
// stored (as compact JSON) so that FETCH BODYSTRUCTURE, ENVELOPE and BODY[section] never re-parse.
// It only scans bytes: no decoding, no copies of bodies. Malformed MIME still yields a structure
// (a multipart without a usable boundary becomes a single part), so a FETCH always has an answer.
import { param, parseStructured, type Params } from './content-type.ts';
import { field, parseHeader, type HeaderBlock } from './headers.ts';

/** Raw header values for ENVELOPE (absent fields are left out). */
export interface EnvelopeFields {
  date?: string;
  subject?: string;
  from?: string;
  sender?: string;
  replyTo?: string;
  to?: string;
  cc?: string;
  bcc?: string;
  inReplyTo?: string;
  messageId?: string;
  /**
   * Not part of ENVELOPE: kept for THREAD=REFERENCES (RFC 5256). Optional, so summaries stored before
   * it (same version: deriving them all again would cost every FETCH a body read) thread by In-Reply-To.
   */
  references?: string;
}

export interface MimePart {
  /** Header start, body start, end — byte offsets into the whole message. */
  h: number;
  b: number;
  e: number;
  type: string;
  subtype: string;
  params: Params;
  id?: string;
  description?: string;
  encoding?: string;
  md5?: string;
  disposition?: [string, Params];
  language?: string;
  location?: string;
  /** Lines of the body, for text/* and message/rfc822. */
  lines?: number;
  /** Children of a multipart. */
  parts?: MimePart[];
  /** The encapsulated message of a message/rfc822 part. */
  message?: { envelope: EnvelopeFields; root: MimePart };
}

/** Bump it when the shape of MessageSummary changes: summaries stored before are then derived again. */
const SUMMARY_VERSION = 1;

export interface MessageSummary {
  v: typeof SUMMARY_VERSION;
  envelope: EnvelopeFields;
  root: MimePart;
}

const MAX_DEPTH = 32;
const MAX_PARTS = 2000;

function envelopeOf(h: HeaderBlock): EnvelopeFields {
  const env: EnvelopeFields = {};
  const pick = (k: keyof EnvelopeFields, name: string) => {
    const v = field(h, name);
    if (v !== undefined) env[k] = v;
  };
  pick('date', 'date');
  pick('subject', 'subject');
  pick('from', 'from');
  pick('sender', 'sender');
  pick('replyTo', 'reply-to');
  pick('to', 'to');
  pick('cc', 'cc');
  pick('bcc', 'bcc');
  pick('inReplyTo', 'in-reply-to');
  pick('messageId', 'message-id');
  pick('references', 'references');
  return env;
}

function countLines(raw: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = raw.indexOf(0x0a, start); i >= 0 && i < end; i = raw.indexOf(0x0a, i + 1)) n++;
  if (end > start && raw[end - 1] !== 0x0a) n++;
  return n;
}

interface Budget {
  parts: number;
}

/**
 * Offsets of the parts between boundary lines: [start, end) of each part, header included. At most
 * `max`: the last one then runs to the end, the remaining parts inside it as opaque bytes (200k
 * sibling parts made a 15 MB BODYSTRUCTURE; the message is still stored whole and readable).
 */
function splitMultipart(raw: Buffer, start: number, end: number, boundary: string, max: number): [number, number][] {
  const delim = Buffer.from('--' + boundary, 'latin1');
  const out: [number, number][] = [];
  let partStart = -1;
  let pos = start;
  while (pos < end) {
    const at = raw.indexOf(delim, pos);
    if (at < 0 || at + delim.length > end) break;
    const lineStart = at === start || raw[at - 1] === 0x0a;
    if (!lineStart) {
      pos = at + 1;
      continue;
    }
    const after = at + delim.length;
    const closing = raw[after] === 0x2d && raw[after + 1] === 0x2d;
    // the line must end right after the boundary (transport padding allowed)
    let eol = after + (closing ? 2 : 0);
    while (eol < end && (raw[eol] === 0x20 || raw[eol] === 0x09)) eol++;
    if (!closing && eol < end && raw[eol] !== 0x0d && raw[eol] !== 0x0a) {
      pos = after;
      continue;
    }
    if (partStart >= 0) {
      // the line break before the delimiter belongs to the delimiter
      let partEnd = at;
      if (partEnd > partStart && raw[partEnd - 1] === 0x0a) partEnd--;
      if (partEnd > partStart && raw[partEnd - 1] === 0x0d) partEnd--;
      out.push([partStart, Math.max(partStart, partEnd)]);
    }
    if (closing) return out;
    const nl = raw.indexOf(0x0a, eol);
    partStart = nl < 0 || nl >= end ? end : nl + 1;
    if (out.length === max - 1) {
      out.push([partStart, end]);
      return out;
    }
    pos = partStart;
  }
  // no closing delimiter: the last part runs to the end
  if (partStart >= 0 && partStart <= end) out.push([partStart, end]);
  return out;
}

function parsePart(raw: Buffer, start: number, end: number, defaultType: [string, string], depth: number, budget: Budget): MimePart {
  budget.parts++;
  const header = parseHeader(raw, start, end);
  const ct = field(header, 'content-type');
  const parsed = ct ? parseStructured(ct) : undefined;
  let [type, subtype] = defaultType;
  let params: Params = defaultType[0] === 'text' ? [['charset', 'us-ascii']] : [];
  if (parsed) {
    const slash = parsed.value.indexOf('/');
    if (slash > 0 && slash < parsed.value.length - 1 && !/\s/.test(parsed.value)) {
      type = parsed.value.slice(0, slash);
      subtype = parsed.value.slice(slash + 1);
      params = parsed.params;
    }
  }
  const part: MimePart = { h: start, b: header.bodyStart, e: end, type, subtype, params };
  const cid = field(header, 'content-id');
  if (cid !== undefined) part.id = cid;
  const cdesc = field(header, 'content-description');
  if (cdesc !== undefined) part.description = cdesc;
  const cte = field(header, 'content-transfer-encoding');
  if (cte !== undefined) part.encoding = cte.trim();
  const md5 = field(header, 'content-md5');
  if (md5 !== undefined) part.md5 = md5;
  const disp = field(header, 'content-disposition');
  if (disp !== undefined) {
    const d = parseStructured(disp);
    if (d.value) part.disposition = [d.value, d.params];
  }
  const lang = field(header, 'content-language');
  if (lang !== undefined) part.language = lang;
  const loc = field(header, 'content-location');
  if (loc !== undefined) part.location = loc;

  const t = type.toLowerCase();
  const st = subtype.toLowerCase();
  const deeper = depth < MAX_DEPTH && budget.parts < MAX_PARTS;
  if (t === 'multipart') {
    const boundary = param(params, 'boundary');
    const ranges = boundary && deeper ? splitMultipart(raw, part.b, end, boundary, MAX_PARTS - budget.parts) : [];
    if (ranges.length > 0) {
      const childDefault: [string, string] = st === 'digest' ? ['message', 'rfc822'] : ['text', 'plain'];
      part.parts = ranges.map(([s, e]) => parsePart(raw, s, e, childDefault, depth + 1, budget));
    } else {
      // Unusable multipart: answer as a single opaque part rather than fail.
      part.type = 'application';
      part.subtype = 'octet-stream';
    }
  } else if (t === 'message' && (st === 'rfc822' || st === 'global') && deeper) {
    const inner = parsePart(raw, part.b, end, ['text', 'plain'], depth + 1, budget);
    part.message = { envelope: envelopeOf(parseHeader(raw, part.b, end)), root: inner };
    part.lines = countLines(raw, part.b, end);
  } else if (t === 'text') {
    part.lines = countLines(raw, part.b, end);
  }
  return part;
}

export function analyzeMessage(raw: Buffer): MessageSummary {
  const root = parsePart(raw, 0, raw.length, ['text', 'plain'], 0, { parts: 0 });
  return { v: SUMMARY_VERSION, envelope: envelopeOf(parseHeader(raw, 0, raw.length)), root };
}
/** The store derives a summary of another version again from the body instead of handing it to us. */
analyzeMessage.current = (summary: unknown): boolean =>
  typeof summary === 'object' && summary !== null && (summary as { v?: unknown }).v === SUMMARY_VERSION;
