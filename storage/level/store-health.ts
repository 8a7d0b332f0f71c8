// The LevelDB handle, watched and reopened. When a write fails with an I/O error, LevelDB may keep
// it as a permanent ("sticky") background error: every later write fails too, even after the disk
// has room again (a full disk that was grown, a file system that came back). Only closing and
// reopening the database clears it. This wrapper notices such a failure, answers every write at
// once with StoreUnavailableError meanwhile (the protocols' "try again later"), and reopens the
// database in the background, with backoff, until a probe write commits with fsync.
//
// States: ok → failed (a write failed; the open handle still serves reads) → recovering (closing
// and reopening, a few ms; reads fail too) → ok, or back to failed for the next attempt. When the
// cause was a full disk, reopening waits until the directory has room for LevelDB to open (it
// turns its log into a table when it opens): an attempt on a full disk would close a handle that
// still serves reads — POP3 users downloading and deleting mail — and fail to open it again.
//
// Invariant 3 across a reopen: a write that failed must have changed nothing, because the in-memory
// indexes never saw it. LevelDB replays its log a whole batch or nothing (checksummed records), so
// after reopening each failed batch is read back: if its puts are not all there, it changed
// nothing and the indexes still match the disk (the usual case: ENOSPC stops the record before it
// is complete, or the sticky error stops the write before it starts). If it is all there — fsync
// failed after the record was written — the indexes no longer match the disk: recovery gives up
// and says so, and the process must restart to reload them (server/cli.ts exits non-zero).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreUnavailableError } from '../errors.ts';
import { freeBytesOf } from './free-space.ts';
import { PROBE_KEY } from './keys.ts';
import type { BatchOp, KvDb } from './level-backend.ts';

export type StoreState = 'ok' | 'failed' | 'recovering';

export interface StoreHealth {
  readonly state: StoreState;
  /** The error that started the current episode; undefined while ok. */
  readonly cause: string | undefined;
  /** Recovery stopped trying: restart the process (the in-memory indexes must be reloaded). */
  readonly gaveUp: boolean;
  /** Called on every change of state (and when recovery gives up). */
  onChange(listener: (health: StoreHealth) => void): void;
}

export interface RecoveringDbOptions {
  /** The database directory: to see whether a full disk has room again. */
  path: string;
  /** First pause between reopen attempts, ms (doubles up to maxBackoffMs). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Give up after reopening has kept failing this long with room on the disk, ms (default 2 min).
   * Time spent waiting for free space does not count: reads keep working meanwhile.
   */
  giveUpAfterMs?: number;
}

interface Fault {
  /** ENOSPC, EIO, EROFS, or LevelDB's own code. */
  kind: string;
  message: string;
}

const ERRNO_TEXT: [RegExp, string][] = [[/No space left on device/i, 'ENOSPC'], [/Read-only file system/i, 'EROFS'], [/Input\/output error/i, 'EIO']];
const FAULT_CODES = new Set(['LEVEL_IO_ERROR', 'LEVEL_CORRUPTION', 'ENOSPC', 'EIO', 'EROFS']);

/** A storage fault (as opposed to a refused or malformed request): LevelDB's I/O and corruption statuses. */
export function storageFault(err: unknown): Fault | undefined {
  const e = err as { code?: string; message?: string; cause?: { message?: string } } | undefined;
  const text = `${e?.message ?? String(err)} ${e?.cause?.message ?? ''}`;
  const errno = ERRNO_TEXT.find(([re]) => re.test(text))?.[1];
  if (errno) return { kind: errno, message: text.trim() };
  if (e?.code && FAULT_CODES.has(e.code)) return { kind: e.code, message: text.trim() };
  if (/^IO error/.test(text)) return { kind: 'EIO', message: text.trim() };
  return undefined;
}

/** Beyond this many failed batches in one episode, nobody can tell what reached the disk. */
const MAX_SUSPECTS = 64;
/** LevelDB's own files besides the log need a little room too (MANIFEST, a new log, LOCK). */
const OPEN_SLACK = 1 << 20;
const WAIT_FOR_SPACE_MS = 500;

export class RecoveringDb implements KvDb, StoreHealth {
  state: StoreState = 'ok';
  cause: string | undefined;
  gaveUp = false;
  private readonly listeners: ((h: StoreHealth) => void)[] = [];
  /** Batches that failed in this episode: did any of them reach the disk after all? */
  private suspects: BatchOp[][] = [];
  private recovery: Promise<void> | undefined;
  private closing = false;
  private wake: (() => void) | undefined;

  constructor(private readonly inner: KvDb, private readonly opts: RecoveringDbOptions) {}

  onChange(listener: (h: StoreHealth) => void): void {
    this.listeners.push(listener);
  }

  private set(state: StoreState): void {
    if (this.state === state) return;
    this.state = state;
    for (const l of this.listeners) l(this);
  }

  open(): Promise<void> {
    return this.inner.open();
  }

  get: KvDb['get'] = (key) => this.inner.get(key);
  getMany: KvDb['getMany'] = (keys) => this.inner.getMany(keys);
  iterator: KvDb['iterator'] = (o) => this.inner.iterator(o);
  keys: KvDb['keys'] = (o) => this.inner.keys(o);

  async compactRange(start: string, end: string): Promise<void> {
    if (this.state !== 'ok') return; // an optimisation; the reclaimer compacts again after its next large run
    try {
      await this.inner.compactRange?.(start, end);
    } catch (err) {
      const fault = storageFault(err);
      if (fault) this.fail(fault, []);
      throw err;
    }
  }

  async batch(ops: BatchOp[], opts: { sync: boolean }): Promise<void> {
    if (this.state !== 'ok') throw new StoreUnavailableError(`store ${this.state} after: ${this.cause}`);
    try {
      await this.inner.batch(ops, opts);
    } catch (err) {
      const fault = storageFault(err);
      if (fault) this.fail(fault, ops);
      throw err;
    }
  }

  private fail(fault: Fault, ops: BatchOp[]): void {
    if (ops.length) this.suspects.push(ops);
    if (this.suspects.length > MAX_SUSPECTS) return this.giveUp(`more than ${MAX_SUSPECTS} writes failed at once; what reached the disk cannot be checked`);
    if (this.state !== 'ok') return;
    this.cause = `${fault.kind}: ${fault.message}`;
    this.set('failed');
    this.recovery = this.recover(fault.kind === 'ENOSPC');
  }

  private giveUp(why: string): void {
    if (this.gaveUp) return;
    this.gaveUp = true;
    this.cause = `${this.cause ?? 'store failed'}; gave up: ${why}`;
    this.state = 'failed';
    for (const l of this.listeners) l(this);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      t.unref();
      this.wake = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  private async recover(waitForSpace: boolean): Promise<void> {
    const min = this.opts.minBackoffMs ?? 250;
    let backoff = min;
    let failingSince: number | undefined;
    while (!this.closing && !this.gaveUp) {
      if (waitForSpace && !(await this.roomToReopen())) {
        await this.pause(WAIT_FOR_SPACE_MS);
        continue;
      }
      await this.pause(backoff);
      if (this.closing) return;
      this.set('recovering');
      try {
        await this.inner.close();
        await this.inner.open();
        if (await this.anyFailedWriteLanded()) return this.giveUp('a write that failed reached the disk after all (fsync failed after the write); the in-memory indexes no longer match the disk');
        await this.inner.batch([{ type: 'put', key: PROBE_KEY, value: Buffer.from(new Date().toISOString()) }], { sync: true });
        this.suspects = [];
        this.cause = undefined;
        this.set('ok');
        return;
      } catch (err) {
        const fault = storageFault(err);
        waitForSpace = fault?.kind === 'ENOSPC';
        if (waitForSpace) failingSince = undefined;
        else failingSince ??= Date.now();
        this.set('failed');
        if (failingSince !== undefined && Date.now() - failingSince > (this.opts.giveUpAfterMs ?? 120_000)) {
          return this.giveUp(`reopening kept failing: ${fault?.message ?? (err as Error).message}`);
        }
        backoff = Math.min(backoff * 2, this.opts.maxBackoffMs ?? 5000);
      }
    }
  }

  /** Room for LevelDB to open: it writes its log out as a table, plus a new manifest and log. */
  private async roomToReopen(): Promise<boolean> {
    try {
      let logs = 0;
      for (const f of await readdir(this.opts.path)) if (f.endsWith('.log')) logs += (await stat(join(this.opts.path, f))).size;
      return (await freeBytesOf(this.opts.path)) >= logs + OPEN_SLACK;
    } catch {
      return true; // cannot tell: let the attempt itself say
    }
  }

  /**
   * A failed batch is all there (each key as the batch left it: the last put's value, or absent
   * after a del) or not there at all.
   */
  private async anyFailedWriteLanded(): Promise<boolean> {
    for (const ops of this.suspects) {
      const last = new Map(ops.map((o) => [o.key, o]));
      const keys = [...last.keys()];
      const values = await this.inner.getMany(keys);
      const landed = keys.every((k, i) => {
        const o = last.get(k)!;
        const v = values[i];
        return o.type === 'del' ? v === undefined : v !== undefined && Buffer.compare(Buffer.from(v.buffer, v.byteOffset, v.byteLength), o.value!) === 0;
      });
      if (landed) return true;
    }
    return false;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    await this.recovery;
    await this.inner.close();
  }
}
