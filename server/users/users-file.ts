// The accounts file, DIR/users.json, kept apart from the locked LevelDB so that `tegami user …`
// works while a server runs. Format:
//   { "version": 1, "users": { "alice": { "password": "scrypt$…", "updated": "2026-…" } } }
// Writers take DIR/users.json.lock (O_EXCL), re-read, change, write a temp file and rename it, so
// two CLI invocations at once both land and a reader never sees half a file.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

export function readUsersFile(dataDir: string): UsersFileData {
  const file = usersFilePath(dataDir);
  if (!existsSync(file)) return { version: 1, users: {} };
  const data = JSON.parse(readFileSync(file, 'utf8')) as UsersFileData;
  if (data.version !== 1 || typeof data.users !== 'object') throw new Error(`${file}: not a tegami users file`);
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
  mkdirSync(dataDir, { recursive: true });
  await acquireLock(lock);
  try {
    const data = readUsersFile(dataDir);
    change(data);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  } finally {
    unlinkSync(lock);
  }
}
