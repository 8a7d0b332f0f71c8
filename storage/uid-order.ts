// Live messages are kept in ascending UID order by every store, and sessions keep their views in
// the same order: a UID is found by binary search, never by a scan.
import type { MessageMeta } from './types.ts';

/** Index of the first message whose UID is at least `uid` (messages.length if none). */
export function lowerBoundByUid(messages: readonly MessageMeta[], uid: number): number {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (messages[mid]!.uid < uid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the message with this UID, or -1. */
export function indexOfUid(messages: readonly MessageMeta[], uid: number): number {
  const i = lowerBoundByUid(messages, uid);
  return i < messages.length && messages[i]!.uid === uid ? i : -1;
}
