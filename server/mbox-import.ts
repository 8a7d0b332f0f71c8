// `tegami import NAME FILE.mbox`: bulk import in large atomic batches, with a progress bar
// (messages, MB/s, ETA) on stderr.
import { statSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { MailStore } from '../storage/types.ts';
import { readMbox, type MboxMessage, type MboxProgress } from './mbox-reader.ts';

export interface ImportResult {
  messages: number;
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
    batch.push(m);
    batchBytes += m.raw.length;
    if (batch.length >= maxMessages || batchBytes >= maxBytes) await flush();
  }
  await flush();
  bar?.update(total, { messages: imported });
  bar?.stop();
  return { messages: imported, bytes: progress.bytesRead, seconds: (Date.now() - started) / 1000 };
}
