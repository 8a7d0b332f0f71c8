// Follows the shard map file while a server runs, so that a site adds a cluster or pins an account
// without a restart. A stat poll (size, mtime, inode) notices every change; fs.watch on the directory
// only makes it sooner (it misses events on some file systems). A version that cannot be used is
// reported once and the last good map stays in force.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readShardMap, type ShardMap } from './shard-map.ts';

/** How often the file is looked at, ms. A new cluster is in use at most this long after the edit. */
const POLL_MS = 1000;

function stamp(file: string): string {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    return 'absent';
  }
}

export interface ShardMapFollower {
  close(): void;
}

/**
 * Calls `onChange` with each new version of the file that reads as a map, `onError` once for each
 * version that does not (a missing or half-edited file, a map naming an unknown cluster).
 */
export function followShardMap(file: string, onChange: (map: ShardMap) => void, onError: (err: unknown) => void): ShardMapFollower {
  let seen = stamp(file);
  const check = () => {
    const now = stamp(file);
    if (now === seen) return;
    seen = now;
    let map: ShardMap;
    try {
      map = readShardMap(file);
    } catch (err) {
      onError(err);
      return;
    }
    onChange(map);
  };
  const timer = setInterval(check, POLL_MS);
  timer.unref();
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_e, f) => {
      if (f === basename(file)) check();
    });
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined;
  }
  return {
    close() {
      clearInterval(timer);
      watcher?.close();
    },
  };
}
