// FETCH, step three: writing the answers to the socket — small pieces coalesced into large corked
// writes, bodies streamed with back-pressure and read ahead in groups (body-read-ahead.ts). A failure
// in the middle of streaming bodies cuts the connection rather than leave the client with a
// truncated literal.
// BINARY (RFC 3516) is the exception to streaming: a part's decoded content is only known after
// decoding, so it is held in memory (at most one message's size per item) and batches are cut
// short by bytes held as well as by count.
import { MessageGoneError } from '../../../storage/errors.ts';
import type { BodyRange, MessageMeta } from '../../../storage/types.ts';
import type { SelectedMailbox } from '../selected-mailbox.ts';
import type { ImapSession } from '../session.ts';
import { BodyReadAhead } from './body-read-ahead.ts';
import type { FetchItem } from './fetch-items.ts';
import { prepare, type Prepared } from './fetch-prepare.ts';
import { bodyRanges, metaLine, render, type FlagsOf, type Piece } from './fetch-render.ts';

/** Messages prepared, rendered and written together: summaries and bodies of a batch are read in one go. */
const BATCH = 256;
/** Decoded BINARY bytes a batch may hold before it is written. */
const BATCH_BINARY_BYTES = 8 * 1024 * 1024;

/** Small pieces are gathered up to this before a write: one syscall for many messages' lines. */
const COALESCE_BYTES = 64 * 1024;

/**
 * FETCH of metadata only (UID, FLAGS, INTERNALDATE, RFC822.SIZE, MODSEQ) — what every client sync
 * sends for the whole mailbox: one line per message appended to a 64 KB string, nothing else
 * allocated per message, so `UID FETCH 1:* (UID FLAGS)` on 100k messages is one tight loop.
 */
export async function writeMetaLines(
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

/**
 * Writes FETCH responses, coalescing small pieces into large writes; bodies are streamed. A message's
 * pieces are held back until the first bytes of its body are in hand: a body another session's
 * expunge freed before this FETCH held it is then skipped whole — the client never sees its literal's
 * length — instead of cutting the connection. Once read, a body is held (writeMessages) to the end.
 */
class ResponseWriter {
  private pending: (string | Buffer)[] = [];
  private size = 0;

  constructor(private readonly s: ImapSession, private ahead: BodyReadAhead | undefined) {}

  /** False when the message's body was gone before a byte of its answer was written (nothing was). */
  async add(pieces: readonly Piece[]): Promise<boolean> {
    if (this.s.isClosed) return true; // the client left: read nothing more for it (invariant 10)
    if (this.size >= COALESCE_BYTES) await this.flush();
    const mark = { count: this.pending.length, size: this.size };
    let written = false; // anything of this message on its way to the client
    for (const piece of pieces) {
      if (typeof piece === 'string' || Buffer.isBuffer(piece)) {
        this.pending.push(piece);
        this.size += piece.length;
        if (written && this.size >= COALESCE_BYTES) await this.flush();
        continue;
      }
      if (piece.end <= piece.start) continue;
      let streamed = 0;
      try {
        for await (const chunk of this.chunks(piece)) {
          if (this.s.isClosed) return true; // ends the read, and with it the body's hold
          streamed += chunk.length;
          written = true;
          // Small bodies join the pending write (one syscall for many messages); big chunks go as they are.
          if (chunk.length < COALESCE_BYTES) {
            this.pending.push(chunk);
            this.size += chunk.length;
            if (this.size >= COALESCE_BYTES) await this.flush();
            continue;
          }
          await this.flush();
          if (!this.s.write(chunk)) await this.s.drained();
        }
        // A read that starts inside a body reclaimed meanwhile comes back short, not as an error.
        if (streamed < piece.end - piece.start) throw new MessageGoneError(`body ${piece.bodyId} ended after ${streamed} of ${piece.end - piece.start} bytes`);
      } catch (err) {
        if (err instanceof MessageGoneError && !written) {
          this.pending.length = mark.count;
          this.size = mark.size;
          return false;
        }
        // The literal's length is already on the wire: the only honest move is to cut the connection.
        this.s.abort();
        throw err;
      }
    }
    return true;
  }

  /**
   * A body's bytes: from the read-ahead while it serves. A body gone before the hold fails its whole
   * read-ahead group, so from then on each body is read on its own, from where the last read stopped.
   */
  private async *chunks(piece: BodyRange): AsyncIterable<Buffer> {
    let at = piece.start;
    if (this.ahead) {
      try {
        for await (const c of this.ahead.read(piece)) {
          at += c.length;
          yield c;
        }
        return;
      } catch (err) {
        if (!(err instanceof MessageGoneError)) throw err;
        this.ahead = undefined;
      }
    }
    if (at < piece.end) yield* this.s.ctx.store.readBody(piece.bodyId, at, piece.end, this.s.user);
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
export async function writeMessages(
  s: ImapSession, view: SelectedMailbox, indexes: readonly number[], items: readonly FetchItem[], withSummary: boolean, withModseq: boolean,
): Promise<boolean> {
  let gone = false;
  let batch: Prepared[] = [];
  let held = 0;
  const write = async () => {
    const rendered = batch.map((p) => render(p, items, withModseq, (m) => view.flagsOf(m)));
    const ranges = [...bodyRanges(rendered)];
    // Held from before the first read to the last byte written: another session's expunge cannot
    // free a body whose literal length this one has sent.
    const release = await s.ctx.store.holdBodies([...new Set(ranges.map((r) => r.bodyId))], s.user);
    try {
      let ahead: BodyReadAhead | undefined = new BodyReadAhead(s.ctx.store, ranges, s.user);
      try {
        await ahead.ready();
      } catch (err) {
        // Expunged elsewhere and reclaimed before the hold: each body is read on its own, and the gone one skipped.
        if (!(err instanceof MessageGoneError)) throw err;
        ahead = undefined;
      }
      const out = new ResponseWriter(s, ahead);
      for (const pieces of rendered) if (!(await out.add(pieces))) gone = true;
      await out.flush();
    } finally {
      release();
    }
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
