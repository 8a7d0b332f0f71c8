// `tegami import NAME FILE.mbox`: bulk import in large atomic batches, with a progress bar
// (messages, MB/s, ETA) on stderr.
import { statSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { readAll } from '../storage/read-all.ts';
import type { MailStore } from '../storage/types.ts';
import { readMbox, type MboxMessage, type MboxProgress } from './mbox-reader.ts';

export interface ImportResult {
  messages: number;
  /** Messages left out because the mailbox already had them (an mbox imported twice). */
  skipped: number;
  bytes: number;
  seconds: number;
}

export interface ImportOptions {
  mailbox?: string;
  /** Messages per atomic batch. */
  batchMessages?: number;
  /** Bytes per atomic batch. */
  batchBytes?: number;
  progressBar?: boolean;
}

// Importing the same mbox twice must not store its messages twice: two messages with one UIDL in a
// maildrop break RFC 1939 (and a client's "leave a copy" bookkeeping). A message is known by the
// UIDL it brought (X-UIDL), else by its Message-ID; one with neither cannot be told apart and is
// imported.
const HEAD_BYTES = 16 * 1024;

function messageIdOf(raw: Buffer): string | undefined {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end < 0 ? Math.min(raw.length, HEAD_BYTES) : end).toString('latin1');
  return /^message-id:[ \t]*(<[^>\r\n]+>)/im.exec(head)?.[1];
}

function identity(raw: Buffer, uidl: string | undefined): string | undefined {
  if (uidl) return `uidl ${uidl}`;
  const id = messageIdOf(raw);
  return id ? `id ${id}` : undefined;
}

async function alreadyThere(store: MailStore, user: string, mailbox: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const box = await store.getMailbox(user, mailbox);
  if (!box) return seen;
  for (const m of (await store.snapshot(user, mailbox)).messages) {
    seen.add(`uidl ${m.uidl}`);
    const id = messageIdOf(await readAll(store.readBody(m.bodyId, 0, HEAD_BYTES, user)));
    if (id) seen.add(`id ${id}`);
  }
  return seen;
}

export async function importMbox(store: MailStore, user: string, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const mailbox = opts.mailbox ?? 'INBOX';
  const maxMessages = opts.batchMessages ?? 2000;
  const maxBytes = opts.batchBytes ?? 32 * 1024 * 1024;
  const total = statSync(file).size;
  const started = Date.now();
  const progress: MboxProgress = { bytesRead: 0, messages: 0 };
  const bar = opts.progressBar
    ? new cliProgress.SingleBar(
        {
          format: 'importing {bar} {percentage}% | {messages} messages | {mbps} MB/s | ETA {eta_formatted}',
          stream: process.stderr,
          hideCursor: true,
          // Without a terminal (CI, pipes) print a plain progress line every few seconds instead.
          noTTYOutput: !process.stderr.isTTY,
          notTTYSchedule: 3000,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { messages: 0, mbps: '0.0' });
  const seen = await alreadyThere(store, user, mailbox);
  let skipped = 0;
  let batch: MboxMessage[] = [];
  let batchBytes = 0;
  let imported = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await store.importMessages(user, mailbox, batch.map((m) => ({
      raw: m.raw,
      opts: { flags: m.flags, internalDate: m.internalDate, uidl: m.uidl },
    })));
    imported += batch.length;
    batch = [];
    batchBytes = 0;
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    bar?.update(progress.bytesRead, { messages: imported, mbps: (progress.bytesRead / 1e6 / secs).toFixed(1) });
  };
  for await (const m of readMbox(file, progress)) {
    const key = identity(m.raw, m.uidl);
    if (key && seen.has(key)) {
      skipped++;
      continue;
    }
    if (key) seen.add(key);
    batch.push(m);
    batchBytes += m.raw.length;
    if (batch.length >= maxMessages || batchBytes >= maxBytes) await flush();
  }
  await flush();
  bar?.update(total, { messages: imported });
  bar?.stop();
  return { messages: imported, skipped, bytes: progress.bytesRead, seconds: (Date.now() - started) / 1000 };
}
