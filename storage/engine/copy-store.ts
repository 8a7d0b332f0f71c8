// Copies a whole store from one backend to another (tegami migrate-store: a LevelDB data directory
// into PostgreSQL) as the facts it holds — mailbox records with their UIDVALIDITY, UIDNEXT and
// HIGHESTMODSEQ, messages with their UIDs, modseqs, flags and UIDLs, bodies and summaries, the
// counters and the reclaim queue — so that no client notices the move: no UIDL, UID or UIDVALIDITY
// changes, and nothing is downloaded again.
//
// The expunge log is kept as one record per mailbox at its newest modseq (a backend reads it back by
// modseq, not record by record): a QRESYNC client then hears of at most more expunged UIDs than it
// needed, which RFC 7162 allows, and its cheap resynchronisation keeps working. Messages still filed
// under deleted mailboxes are not copied; the copied queue's item for the mailbox finds none.
import { MessageGoneError, StoreRuleError } from '../errors.ts';
import type { Backend, Change } from './backend.ts';

export interface CopyProgress {
  accounts: number;
  messages: number;
  bodies: number;
  bytes: number;
}

/** Changes per commit, and body bytes per commit: durable commits of bounded size. */
const BATCH_CHANGES = 2000;
const BATCH_BYTES = 32 * 1024 * 1024;

/**
 * `only`: copy just the accounts it accepts, with their reclaim queues (a LevelDB store spread over
 * the clusters of a shard map, one copy per cluster). The counters come along whole: mailbox ids and
 * UIDVALIDITYs were unique in the source, so they stay unique in each part.
 */
export async function copyStore(
  from: Backend, to: Backend, onProgress?: (p: CopyProgress) => void, only: (user: string) => boolean = () => true,
): Promise<CopyProgress> {
  const state = await from.open();
  await to.open();
  if ((await to.listUsers()).length > 0) {
    throw new StoreRuleError('the target store is not empty: migrate into a new database (or drop its tegami tables) and run again');
  }
  const progress: CopyProgress = { accounts: 0, messages: 0, bodies: 0, bytes: 0 };
  const copied = new Set<string>();
  let batch: Change[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length) await to.commit(batch, { durable: true });
    batch = [];
    batchBytes = 0;
    onProgress?.({ ...progress });
  };
  const add = async (c: Change) => {
    batch.push(c);
    if (batch.length >= BATCH_CHANGES || batchBytes >= BATCH_BYTES) await flush();
  };
  /** The body's bytes and summary, once per body id. */
  const copyBody = async (bodyId: string, size: number): Promise<void> => {
    if (copied.has(bodyId)) return;
    copied.add(bodyId);
    const [chunks] = await from.readBodyRanges([{ bodyId, start: 0, end: Math.max(size, 1) }]);
    const raw = Buffer.concat(chunks!);
    batchBytes += raw.length;
    progress.bodies++;
    progress.bytes += raw.length;
    await add({ t: 'putBody', bodyId, raw, summary: await from.readSummary(bodyId) });
  };

  for (const user of (await from.listUsers()).filter(only)) {
    for (const box of (await from.load(user)) ?? []) {
      await add({ t: 'putMailbox', user, record: box.record });
      for (const meta of box.messages) {
        await copyBody(meta.bodyId, meta.size);
        await add({ t: 'putMessage', mailboxId: box.record.id, meta });
        await add({ t: 'addRef', bodyId: meta.bodyId, mailboxId: box.record.id, uid: meta.uid });
        progress.messages++;
      }
      if (box.expungeLog.length) {
        const oldest = box.expungeLog.reduce((a, b) => Math.min(a, b));
        const newest = box.expungeLog.reduce((a, b) => Math.max(a, b));
        const uids = await from.expungedSince(box.record.id, oldest - 1);
        await add({ t: 'logExpunge', mailboxId: box.record.id, modseq: newest, uids });
      }
    }
    // the account last: a copy cut short leaves no account that looks complete
    await add({ t: 'putUser', user, created: Date.now() });
    progress.accounts++;
  }
  for (const q of (await Promise.all(state.reclaimQueues.filter((s) => only(s.owner)).map((s) => from.queued(s.owner, Infinity)))).flat()) {
    // a body waiting for reclaim (or for undelete, during retention) comes along while it exists
    if (q.item.t === 'body') {
      await copyBody(q.item.b, q.item.bytes).catch((err: unknown) => {
        if (!(err instanceof MessageGoneError)) throw err;
      });
    }
    await add({ t: 'queueReclaim', owner: q.owner, seq: q.seq, item: q.item });
  }
  if (state.counters) await add({ t: 'counters', counters: state.counters });
  await flush();
  return progress;
}
