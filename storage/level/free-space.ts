// Free space of the data directory, and the floor below which new mail is refused.
//
// Why a floor: LevelDB needs room to commit anything — a deletion is a log record too — and, in the
// background, to flush its memtable (up to 4 MB) into a table and to merge tables (a compaction
// writes its output before it deletes its inputs). Let deliveries fill the disk to the last byte
// and the next flush fails; LevelDB keeps that as a permanent write error, and then not even the
// POP3 QUIT or EXPUNGE that would make room can commit. So new mail (SMTP/LMTP, APPEND, import)
// stops at the floor with a temporary answer, and everything else keeps working.
//
// statfs runs once a second, off the hot path. Between two samples every admitted message is
// counted against the last sample, twice (LevelDB writes it to its log and then to a table before
// the log goes), so a burst of deliveries cannot run a second's worth of mail past the floor.
import { statfs } from 'node:fs/promises';
import { StoreFullError } from '../errors.ts';

/** Each stored byte is written twice before the older copy can go: log, then level-0 table. */
const WRITE_AMPLIFICATION = 2;
const SAMPLE_MS = 1000;

/** Bytes free for an unprivileged writer: statfs bavail × bsize. */
export async function freeBytesOf(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

export class FreeSpace {
  private lastSample = Infinity;
  private admittedSinceSample = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;

  private constructor(private readonly dir: string, readonly floorBytes: number, private readonly onError: (err: unknown) => void) {}

  /** Samples now, then every second until close(); a failed sample is reported to `onError`. */
  static async watch(dir: string, floorBytes: number, onError: (err: unknown) => void): Promise<FreeSpace> {
    const fs = new FreeSpace(dir, floorBytes, onError);
    await fs.sample();
    fs.timer = setInterval(() => void fs.sample(), SAMPLE_MS);
    fs.timer.unref();
    return fs;
  }

  /** Free bytes as last sampled, less what was admitted since. */
  get freeBytes(): number {
    return this.lastSample - this.admittedSinceSample * WRITE_AMPLIFICATION;
  }

  get belowFloor(): boolean {
    return this.freeBytes < this.floorBytes;
  }

  /** Counts `bytes` of new mail against the free space, or throws StoreFullError if they would cross the floor (0: no floor). */
  admit(bytes: number): void {
    if (this.floorBytes <= 0) return;
    if (this.freeBytes - bytes * WRITE_AMPLIFICATION < this.floorBytes) {
      throw new StoreFullError(`mail storage is full (${mb(this.freeBytes)} free, floor ${mb(this.floorBytes)})`);
    }
    this.admittedSinceSample += bytes;
  }

  /** One statfs; a failed one keeps the last figure (and is reported) rather than guessing. */
  sample(): Promise<void> {
    this.sampling ??= freeBytesOf(this.dir).then(
      (free) => {
        this.lastSample = free;
        this.admittedSinceSample = 0;
      },
      (err: unknown) => this.onError(err),
    ).finally(() => {
      this.sampling = undefined;
    });
    return this.sampling;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
