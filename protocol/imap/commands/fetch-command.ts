// FETCH and UID FETCH. Metadata answers (FLAGS, UID, sizes, dates) come from the session's view in
// memory; ENVELOPE, BODYSTRUCTURE and sections use the structure stored at delivery; message bytes
// are read ahead in groups (body-read-ahead.ts) and streamed with back-pressure, never a whole large
// body at once. Per batch, summaries, header fields and the first group of bodies are read before
// the batch's first line is written, so a store failure is a NO [UNAVAILABLE], not a half-written
// response. A failure in the middle of streaming bodies cuts the connection rather than leave the
// client with a truncated literal.
// BINARY (RFC 3516) is the exception to streaming: a part's decoded content is only known after
// decoding, so it is held in memory (at most one message's size per item) and batches are cut
// short by bytes held as well as by count.
import { MessageGoneError } from '../../../storage/errors.ts';
import type { BodyRange, MessageMeta } from '../../../storage/types.ts';
import { readAll } from '../../../storage/read-all.ts';
import {
  decodeTransferEncoding, filterHeaderFields, formatBodyStructure, formatEnvelope, isIdentityEncoding, isKnownEncoding,
  resolvePart, resolveSection, type MessageSummary,
} from '../../mime/index.ts';
import { EXPUNGED_TEXT, ImapError, SELECTED, type CommandSpec } from '../command.ts';
import { BodyReadAhead } from '../fetch/body-read-ahead.ts';
import { parseFetchItems, type FetchItem } from '../fetch/fetch-items.ts';
import { atom, ParseError, type ParsedCommand } from '../parser/tokens.ts';
import { flagList, internalDate } from '../responses.ts';
import { byUid, bySequence, parseSequenceSet } from '../sequence-set.ts';
import type { ImapSession } from '../session.ts';
import type { SelectedMailbox } from '../selected-mailbox.ts';
import { vanishedSince } from './select-commands.ts';

const BATCH = 256;
/** Decoded BINARY bytes a batch may hold before it is written. */
const BATCH_BINARY_BYTES = 8 * 1024 * 1024;

type Piece = string | Buffer | BodyRange;

function* bodyRanges(rendered: readonly (readonly Piece[])[]): Iterable<BodyRange> {
  for (const pieces of rendered) for (const p of pieces) if (typeof p !== 'string' && !Buffer.isBuffer(p)) yield p;
}

const needsSummary = (items: readonly FetchItem[]): boolean =>
  items.some((i) => i.kind === 'ENVELOPE' || i.kind === 'BODY' || i.kind === 'BODYSTRUCTURE' ||
    (i.kind === 'section' && (i.section.part.length > 0 || i.section.kind !== 'all')) ||
    (i.kind === 'binary' && i.part.length > 0));

/** Items whose answer reads message bytes, and so mark the message \Seen unless PEEK. */
const readsBody = (i: FetchItem): boolean => (i.kind === 'section' || (i.kind === 'binary' && !i.sizeOnly)) && !i.peek;

/** Everything about one message that needs the store, read ahead of writing. */
interface Prepared {
  seq: number;
  meta: MessageMeta;
  summary?: MessageSummary;
  /** HEADER.FIELDS results by item index. */
  fieldBytes: Map<number, Buffer>;
  /** BINARY results by item index: decoded bytes, or the decoded length for BINARY.SIZE. */
  binary: Map<number, Buffer | number>;
  /** Bytes held in `binary`. */
  held: number;
}

async function prepare(s: ImapSession, seq: number, meta: MessageMeta, items: readonly FetchItem[], withSummary: boolean): Promise<Prepared> {
  const p: Prepared = { seq, meta, fieldBytes: new Map(), binary: new Map(), held: 0 };
  if (withSummary) {
    p.summary = (await s.ctx.store.readSummary(meta.bodyId)) as MessageSummary | undefined;
    if (!p.summary) throw new MessageGoneError(`no structure for message ${meta.uid}`);
  }
  for (let k = 0; k < items.length; k++) {
    const item = items[k]!;
    if (item.kind === 'binary') {
      const value = await binaryContent(s, meta, p.summary, item);
      p.binary.set(k, value);
      if (typeof value !== 'number') p.held += value.length;
      continue;
    }
    if (item.kind !== 'section' || !p.summary) continue;
    const r = resolveSection(p.summary, item.section);
    if (r.filter) p.fieldBytes.set(k, filterHeaderFields(await readAll(s.ctx.store.readBody(meta.bodyId, r.start, r.end)), r.filter));
  }
  return p;
}

/**
 * The decoded content of BINARY[part] (or its length for BINARY.SIZE). An identity-encoded part's
 * size needs no read; an encoding we cannot undo fails the command (RFC 3516 4.2: NO [UNKNOWN-CTE]).
 */
async function binaryContent(s: ImapSession, meta: MessageMeta, summary: MessageSummary | undefined, item: Extract<FetchItem, { kind: 'binary' }>): Promise<Buffer | number> {
  const r = summary ? resolvePart(summary, item.part) : { start: 0, end: meta.size };
  // A part that does not exist answers empty, as BODY[part] does.
  if (!r || r.end <= r.start) return item.sizeOnly ? 0 : Buffer.alloc(0);
  if (!isKnownEncoding(r.encoding)) {
    throw new ImapError('NO', 'UNKNOWN-CTE', `cannot decode content-transfer-encoding ${JSON.stringify(r.encoding ?? '').slice(0, 40)} of message ${meta.uid}`);
  }
  if (item.sizeOnly && isIdentityEncoding(r.encoding)) return r.end - r.start;
  const decoded = decodeTransferEncoding(await readAll(s.ctx.store.readBody(meta.bodyId, r.start, r.end)), r.encoding)!;
  return item.sizeOnly ? decoded.length : decoded;
}

function literal(pieces: Piece[], label: string, body: Piece, size: number): void {
  pieces.push(`${label} {${size}}\r\n`, body);
}

function render(p: Prepared, items: readonly FetchItem[], withModseq: boolean, flagsOf: FlagsOf): Piece[] {
  const { meta } = p;
  const pieces: Piece[] = [`* ${p.seq} FETCH (`];
  const out: string[] = [];
  const flushText = () => {
    if (out.length) pieces.push(out.join(' ') + ' ');
    out.length = 0;
  };
  items.forEach((item, k) => {
    switch (item.kind) {
      case 'UID': case 'FLAGS': case 'INTERNALDATE': case 'RFC822.SIZE': out.push(metaItem(item.kind, meta, flagsOf)); break;
      case 'MODSEQ': break;
      case 'ENVELOPE': out.push(`ENVELOPE ${formatEnvelope(p.summary!)}`); break;
      case 'BODY': out.push(`BODY ${formatBodyStructure(p.summary!, false)}`); break;
      case 'BODYSTRUCTURE': out.push(`BODYSTRUCTURE ${formatBodyStructure(p.summary!, true)}`); break;
      case 'binary': {
        const value = p.binary.get(k)!;
        if (typeof value === 'number') {
          out.push(`${item.label} ${value}`);
          break;
        }
        flushText();
        const bytes = item.partial ? value.subarray(item.partial.start, item.partial.start + item.partial.length) : value;
        const label = item.partial ? `${item.label}<${item.partial.start}>` : item.label;
        // RFC 3516 4.3: literal8 is needed only when the content holds NUL, which a literal may not.
        pieces.push(`${label} ${bytes.includes(0) ? '~' : ''}{${bytes.length}}\r\n`, bytes, ' ');
        break;
      }
      case 'section': {
        flushText();
        let start = 0;
        let end = meta.size;
        if (item.section.part.length > 0 || item.section.kind !== 'all') ({ start, end } = resolveSection(p.summary!, item.section));
        const fields = p.fieldBytes.get(k);
        let label = item.label;
        if (item.partial) label += `<${item.partial.start}>`;
        if (fields) {
          const bytes = item.partial ? fields.subarray(item.partial.start, item.partial.start + item.partial.length) : fields;
          literal(pieces, label, bytes, bytes.length);
        } else {
          if (item.partial) {
            start = Math.min(end, start + item.partial.start);
            end = Math.min(end, start + item.partial.length);
          }
          literal(pieces, label, { bodyId: meta.bodyId, start, end }, end - start);
        }
        pieces.push(' ');
        break;
      }
    }
  });
  if (withModseq) out.push(`MODSEQ (${meta.modseq})`);
  flushText();
  const last = pieces[pieces.length - 1];
  if (typeof last === 'string') pieces[pieces.length - 1] = last.replace(/ $/, '');
  pieces.push(')\r\n');
  return pieces;
}

const COALESCE_BYTES = 64 * 1024;
/** A metadata FETCH over more messages than this waits its turn like other heavy commands. */
const HEAVY_META_LINES = 2000;

/**
 * FETCH of metadata only (UID, FLAGS, INTERNALDATE, RFC822.SIZE, MODSEQ) — what every client sync
 * sends for the whole mailbox: one line per message appended to a 64 KB string, nothing else
 * allocated per message, so `UID FETCH 1:* (UID FLAGS)` on 100k messages is one tight loop.
 */
async function writeMetaLines(
  s: ImapSession, messages: readonly MessageMeta[], indexes: readonly number[], items: readonly FetchItem[], withModseq: boolean, flagsOf: FlagsOf,
): Promise<void> {
  let chunk = '';
  for (const i of indexes) {
    chunk += metaLine(i + 1, messages[i]!, items, withModseq, flagsOf);
    if (chunk.length >= COALESCE_BYTES) {
      if (!s.write(chunk)) await s.drained();
      chunk = '';
    }
  }
  if (chunk && !s.write(chunk)) await s.drained();
}

const wholeMailbox = new WeakMap<readonly MessageMeta[], Map<string, Buffer>>();

/**
 * The metadata FETCH answer for every message of a snapshot, rendered once per snapshot and item
 * list. Snapshots are immutable and shared by every session that opened the same version of the
 * mailbox, so a storm of clients syncing one mailbox costs one rendering per change of it, as
 * POP3 listings do.
 */
function wholeMailboxMetaLines(messages: readonly MessageMeta[], items: readonly FetchItem[], withModseq: boolean): Buffer {
  const key = `${items.map((i) => i.kind).join(' ')}${withModseq ? ' +MODSEQ' : ''}`;
  let cached = wholeMailbox.get(messages);
  if (!cached) wholeMailbox.set(messages, (cached = new Map()));
  let b = cached.get(key);
  if (!b) {
    let out = '';
    for (let i = 0; i < messages.length; i++) out += metaLine(i + 1, messages[i]!, items, withModseq, storedFlags);
    cached.set(key, (b = Buffer.from(out, 'latin1')));
  }
  return b;
}

type MetaItem = 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE';

/** One metadata item of a FETCH response: what the index alone can answer. */
/** A message's flags as the session shows them (\Recent is the session's, not the store's). */
type FlagsOf = (meta: MessageMeta) => readonly string[];
const storedFlags: FlagsOf = (meta) => meta.flags;

function metaItem(kind: MetaItem, meta: MessageMeta, flagsOf: FlagsOf): string {
  switch (kind) {
    case 'UID': return `UID ${meta.uid}`;
    case 'FLAGS': return `FLAGS ${flagList(flagsOf(meta))}`;
    case 'INTERNALDATE': return `INTERNALDATE ${internalDate(meta.internalDate)}`;
    case 'RFC822.SIZE': return `RFC822.SIZE ${meta.size}`;
  }
}

function metaLine(seq: number, meta: MessageMeta, items: readonly FetchItem[], withModseq: boolean, flagsOf: FlagsOf): string {
  let line = `* ${seq} FETCH (`;
  let sep = '';
  for (const item of items) {
    if (item.kind === 'MODSEQ') continue; // goes last, once
    line += sep + metaItem(item.kind as MetaItem, meta, flagsOf);
    sep = ' ';
  }
  if (withModseq) line += `${sep}MODSEQ (${meta.modseq})`;
  return `${line})\r\n`;
}

/** Writes FETCH responses, coalescing small pieces into large writes; bodies are streamed. */
class ResponseWriter {
  private pending: (string | Buffer)[] = [];
  private size = 0;

  constructor(private readonly s: ImapSession) {}

  async add(pieces: readonly Piece[], ahead?: BodyReadAhead): Promise<void> {
    for (const piece of pieces) {
      if (typeof piece === 'string' || Buffer.isBuffer(piece)) {
        this.pending.push(piece);
        this.size += piece.length;
        if (this.size >= COALESCE_BYTES) await this.flush();
        continue;
      }
      if (piece.end <= piece.start) continue;
      try {
        // Small bodies join the pending write (one syscall for many messages); big chunks go as they are.
        const chunks = ahead ? ahead.read(piece) : this.s.ctx.store.readBody(piece.bodyId, piece.start, piece.end);
        for await (const chunk of chunks) {
          if (chunk.length < COALESCE_BYTES) {
            this.pending.push(chunk);
            this.size += chunk.length;
            if (this.size >= COALESCE_BYTES) await this.flush();
            continue;
          }
          await this.flush();
          if (!this.s.write(chunk)) await this.s.drained();
        }
      } catch (err) {
        // The literal's length is already on the wire: the only honest move is to cut the connection.
        this.s.abort();
        throw err;
      }
    }
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const pending = this.pending;
    this.pending = [];
    this.size = 0;
    // Corked, the pieces leave in one writev: one syscall, and no copy into a joined buffer.
    let ok = true;
    this.s.socket.cork();
    for (const p of pending) ok = this.s.write(p);
    this.s.socket.uncork();
    if (!ok) await this.s.drained();
  }
}

/** Streams the messages' answers in batches; true when some were expunged meanwhile (and skipped). */
async function writeMessages(
  s: ImapSession, view: SelectedMailbox, indexes: readonly number[], items: readonly FetchItem[], withSummary: boolean, withModseq: boolean,
): Promise<boolean> {
  const out = new ResponseWriter(s);
  let gone = false;
  let batch: Prepared[] = [];
  let held = 0;
  const write = async () => {
    const rendered = batch.map((p) => render(p, items, withModseq, (m) => view.flagsOf(m)));
    let ahead: BodyReadAhead | undefined = new BodyReadAhead(s.ctx.store, bodyRanges(rendered));
    try {
      await ahead.ready();
    } catch (err) {
      // Expunged elsewhere and reclaimed meanwhile: stream one by one, which stops at that message.
      if (!(err instanceof MessageGoneError)) throw err;
      ahead = undefined;
    }
    for (const pieces of rendered) await out.add(pieces, ahead);
    await out.flush();
    batch = [];
    held = 0;
  };
  for (const i of indexes) {
    try {
      const p = await prepare(s, i + 1, view.messages[i]!, items, withSummary);
      batch.push(p);
      held += p.held;
    } catch (err) {
      if (!(err instanceof MessageGoneError)) throw err;
      gone = true;
    }
    if (batch.length >= BATCH || held >= BATCH_BINARY_BYTES) await write();
  }
  await write();
  return gone;
}

async function fetch(s: ImapSession, cmd: ParsedCommand, byUidSet: boolean): Promise<string> {
  const view = s.selected!;
  const set = parseSequenceSet(atom(cmd.args[0], 'sequence set'));
  const plan = parseFetchItems(cmd.args.slice(1));
  let items = plan.items;
  if (byUidSet && !items.some((i) => i.kind === 'UID')) items = [{ kind: 'UID' }, ...items];
  const withModseq = items.some((i) => i.kind === 'MODSEQ') || plan.changedSince !== undefined;
  if (withModseq) s.enableCondstore();
  let indexes = byUidSet ? byUid(set, view.messages) : bySequence(set, view.messages.length);
  if (plan.changedSince !== undefined) indexes = indexes.filter((i) => view.messages[i]!.modseq > plan.changedSince!);
  if (plan.vanished && (!byUidSet || !s.enabled.has('QRESYNC'))) throw new ParseError('VANISHED needs UID FETCH and ENABLE QRESYNC');
  const withSummary = needsSummary(items);
  const touchesStore = withSummary || items.some((i) => i.kind === 'section' || i.kind === 'binary');
  const name = byUidSet ? 'UID FETCH' : 'FETCH';
  // Admission first, side effects after: a refused FETCH has sent no VANISHED and set no \Seen.
  const admitted = <T>(work: () => Promise<T>) => (touchesStore || indexes.length > HEAVY_META_LINES ? s.heavy(name, work) : work());
  let gone = false;
  await admitted(async () => {
    if (plan.vanished) {
      const changes = await s.ctx.store.changesSince(s.user!, view.name, plan.changedSince!);
      const vanished = vanishedSince(view, changes, set);
      if (vanished) s.send(`* VANISHED (EARLIER) ${vanished}`);
    }
    // Reading a body without PEEK marks it \Seen (RFC 3501 6.4.5), and the client is told.
    if (!view.readOnly && items.some(readsBody)) {
      const unseen = indexes.map((i) => view.messages[i]!).filter((m) => !m.flags.includes('\\Seen') && !view.ghosts.has(m.uid));
      if (unseen.length) {
        const r = await s.ctx.store.storeFlags(s.user!, view.name, unseen.map((m) => m.uid), 'add', ['\\Seen']);
        const announce = view.applyOwn(r.updated);
        if (announce.length) s.write(announce.join('\r\n') + '\r\n');
        if (!items.some((i) => i.kind === 'FLAGS')) items = [...items, { kind: 'FLAGS' }];
      }
    }
    if (touchesStore) gone = await writeMessages(s, view, indexes, items, withSummary, withModseq);
    // The shared rendering holds the store's flags: a session with \Recent messages renders its own.
    else if (view.isSharedSnapshot && !view.hasRecent && indexes.length === view.messages.length) {
      if (!s.write(wholeMailboxMetaLines(view.messages, items, withModseq))) await s.drained();
    } else await writeMetaLines(s, view.messages, indexes, items, withModseq, (m) => view.flagsOf(m));
  });
  if (gone) throw new ImapError('NO', 'EXPUNGEISSUED', EXPUNGED_TEXT);
  return `${byUidSet ? 'UID ' : ''}FETCH completed`;
}

export const FETCH: CommandSpec = { states: SELECTED, noExpunge: true, run: (s, cmd) => fetch(s, cmd, false) };
export const UID_FETCH: CommandSpec = { states: SELECTED, run: (s, cmd) => fetch(s, cmd, true) };
