// A failed disk write leaves LevelDB refusing every later write (its "sticky" background error) until
// the database is reopened. The store notices, answers writes with a temporary error meanwhile,
// reopens by itself once the disk works again, and never serves indexes that no longer match the
// disk (invariant 3: a write that failed changed nothing). Simulated here over memory-level; the
// real thing, on a full tmpfs, is test/e2e/disk-full-recovers-without-restart.test.ts.
import { tmpdir } from 'node:os';
import { MemoryLevel } from 'memory-level';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../storage/index.ts';
import { MailEngine } from '../../storage/engine/mail-engine.ts';
import { LevelBackend, type BatchOp, type KvDb } from '../../storage/level/level-backend.ts';
import { RecoveringDb, storageFault } from '../../storage/level/store-health.ts';

const msg = (s: string) => Buffer.from(`Subject: ${s}\r\n\r\nbody of ${s}\r\n`);
const ioError = () => Object.assign(new Error('IO error: /data/mail/000007.log: Input/output error'), { code: 'LEVEL_IO_ERROR' });

/** memory-level behind a disk that can fail the way LevelDB does. */
function faultyDisk() {
  const mem = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as KvDb;
  const disk = {
    /** Writes fail (the disk is full or broken). */
    broken: false,
    /** LevelDB kept the error: writes fail until the database is reopened. */
    sticky: false,
    /** The next failing write still reaches the disk (its fsync failed after the write). */
    landNextFailure: false,
    failOpen: false,
    opens: 0,
    batchesSeen: 0,
  };
  const db: KvDb = {
    open: async () => {
      if (disk.failOpen) throw ioError();
      disk.sticky = false;
      disk.opens++;
      await mem.open();
    },
    close: () => mem.close(),
    get: (k) => mem.get(k),
    getMany: (k) => mem.getMany(k),
    iterator: (o) => mem.iterator(o),
    keys: (o) => mem.keys(o),
    batch: async (ops: BatchOp[], o) => {
      disk.batchesSeen++;
      if (disk.broken || disk.sticky) {
        if (disk.landNextFailure) await mem.batch(ops, o);
        disk.landNextFailure = false;
        disk.sticky = true;
        throw ioError();
      }
      await mem.batch(ops, o);
    },
  };
  return { db, disk };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function open(opts: { giveUpAfterMs?: number } = {}) {
  const { db, disk } = faultyDisk();
  const health = new RecoveringDb(db, { path: tmpdir(), minBackoffMs: 10, maxBackoffMs: 40, ...opts });
  const store = await MailEngine.open(new LevelBackend(health, false));
  await store.ensureUser('alice');
  return { store, health, disk };
}

describe('a store whose disk fails', () => {
  it('refuses writes with a temporary error, keeps serving reads, and takes writes again by itself once the disk is back', async () => {
    const { store, health, disk } = await open();
    const kept = await store.append('alice', 'INBOX', msg('kept'));
    disk.broken = true;
    await expect(store.append('alice', 'INBOX', msg('refused'))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(health.state).toBe('failed');
    expect(health.cause).toMatch(/EIO/);
    // Nothing more reaches LevelDB while it is failed; reads still work.
    const seen = disk.batchesSeen;
    await expect(store.expunge('alice', 'INBOX', [kept.uid])).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(disk.batchesSeen).toBe(seen);
    const [m] = (await store.snapshot('alice', 'INBOX')).messages;
    let body = '';
    for await (const c of store.readBody(m!.bodyId)) body += c.toString();
    expect(body).toContain('body of kept');

    disk.broken = false; // space freed; LevelDB still holds its error until reopened
    await until(() => health.state === 'ok');
    expect(disk.opens).toBe(2);
    const next = await store.append('alice', 'INBOX', msg('next'));
    expect(next.uid).toBeGreaterThan(kept.uid + 1); // the failed append's UID is never given again
    expect((await store.snapshot('alice', 'INBOX')).messages.map((x) => x.uid)).toEqual([kept.uid, next.uid]);
    await store.close();
  });

  it('gives up, rather than serve indexes that no longer match the disk, when a failed write reached the disk after all', async () => {
    const { store, health, disk } = await open();
    disk.broken = true;
    disk.landNextFailure = true;
    await expect(store.append('alice', 'INBOX', msg('fsync failed'))).rejects.toBeInstanceOf(StoreUnavailableError);
    disk.broken = false;
    await until(() => health.gaveUp);
    expect(health.state).toBe('failed');
    expect(health.cause).toMatch(/reached the disk after all/);
    await expect(store.append('alice', 'INBOX', msg('later'))).rejects.toBeInstanceOf(StoreUnavailableError);
    await store.close();
  });

  it('gives up after reopening has kept failing for the configured time', async () => {
    const { store, health, disk } = await open({ giveUpAfterMs: 100 });
    const changes: string[] = [];
    health.onChange((h) => changes.push(h.gaveUp ? 'gave up' : h.state));
    disk.broken = true;
    disk.failOpen = true;
    await expect(store.append('alice', 'INBOX', msg('x'))).rejects.toBeInstanceOf(StoreUnavailableError);
    await until(() => health.gaveUp);
    expect(health.cause).toMatch(/reopening kept failing/);
    expect(changes[0]).toBe('failed');
    expect(changes.at(-1)).toBe('gave up');
    await store.close();
  });
});

describe('storageFault', () => {
  it('tells disk faults from other errors', () => {
    const level = (message: string, code = 'LEVEL_IO_ERROR') => Object.assign(new Error(message), { code });
    expect(storageFault(level('IO error: /d/000012.ldb: No space left on device'))?.kind).toBe('ENOSPC');
    expect(storageFault(level('IO error: /d/LOG: Read-only file system'))?.kind).toBe('EROFS');
    expect(storageFault(level('Corruption: bad block', 'LEVEL_CORRUPTION'))?.kind).toBe('LEVEL_CORRUPTION');
    expect(storageFault(new Error('no such mailbox'))).toBeUndefined();
    expect(storageFault(Object.assign(new Error('Database is not open'), { code: 'LEVEL_DATABASE_NOT_OPEN' }))).toBeUndefined();
  });
});
