// The accounts file, DIR/users.json, kept apart from the locked LevelDB so that `tegami user …`
// works while a server runs. Format:
//   { "version": 1, "users": { "alice": { "password": "scrypt$…", "updated": "2026-…" } } }
// Writers take DIR/users.json.lock (O_EXCL), re-read, change, write a temp file, fsync it, rename it
// over the old one and fsync the directory: two CLI invocations at once both land, a reader never
// sees half a file, and a crash or a full disk leaves the old file or the new one — never a
// truncated one. A file that cannot be read is an error that says which file and why, never an
// empty user list (with which every login would fail, and the next write would drop every user).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface UserRecord {
  password: string;
  updated: string;
}

export interface UsersFileData {
  version: 1;
  users: Record<string, UserRecord>;
}

const LOCK_WAIT_MS = 10_000;
const STALE_LOCK_MS = 30_000;

export const usersFilePath = (dataDir: string): string => join(dataDir, 'users.json');

/** users.json exists but cannot be used as it is. */
export class UsersFileError extends Error {
  override name = 'UsersFileError';
}

export function readUsersFile(dataDir: string): UsersFileData {
  const file = usersFilePath(dataDir);
  if (!existsSync(file)) return { version: 1, users: {} };
  let data: UsersFileData;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as UsersFileData;
  } catch (err) {
    throw new UsersFileError(`${file} is not valid JSON (${(err as Error).message}); fix or restore it — tegami will not guess the accounts`);
  }
  const bad = data?.version !== 1 || typeof data.users !== 'object' || data.users === null
    || Object.values(data.users).some((u) => typeof u?.password !== 'string');
  if (bad) throw new UsersFileError(`${file} is not a tegami users file (expected {"version": 1, "users": {NAME: {"password": …}}})`);
  return data;
}

/** A cheap change detector: size and mtime. */
export function usersFileStamp(dataDir: string): string {
  try {
    const s = statSync(usersFilePath(dataDir));
    return `${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    return 'absent';
  }
}

async function acquireLock(lock: string): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) unlinkSync(lock);
      } catch {
        // the holder released it meanwhile
      }
      if (Date.now() > deadline) throw new Error(`${lock} is held by another tegami process`);
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
    }
  }
}

/** Read-modify-write under the lock. */
export async function updateUsersFile(dataDir: string, change: (data: UsersFileData) => void): Promise<void> {
  const file = usersFilePath(dataDir);
  const lock = `${file}.lock`;
  // `tegami user add` is often the first command on a new data directory, before any server ran.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  await acquireLock(lock);
  try {
    const data = readUsersFile(dataDir);
    change(data);
    replaceDurably(file, JSON.stringify(data, null, 2) + '\n');
  } finally {
    unlinkSync(lock);
  }
}

/** Temp file, fsync, rename, fsync the directory; on failure the old file is untouched. */
function replaceDurably(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      const bytes = Buffer.from(text);
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw new UsersFileError(`cannot write ${file}: ${(err as Error).message}; it was left as it was`);
  }
  // The rename is durable once the directory is; the new file is whole either way.
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
