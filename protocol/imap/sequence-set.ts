// Sequence sets (RFC 3501 9: "1:4,7,9:*"), resolved against a mailbox view in O(k log n) for k
// ranges — never a scan per message.
import type { MessageMeta } from '../../storage/types.ts';
import { lowerBoundByUid } from '../../storage/uid-order.ts';
import { ParseError } from './parser/tokens.ts';

/** Inclusive ranges; `Infinity` stands for "*". */
export type SequenceSet = [number, number][];

const NUMBER = /^[1-9]\d{0,9}$/;

function bound(s: string): number {
  if (s === '*') return Infinity;
  if (!NUMBER.test(s) || Number(s) > 0xffffffff) throw new ParseError(`bad number in sequence set: ${s}`);
  return Number(s);
}

export function parseSequenceSet(s: string): SequenceSet {
  if (!s) throw new ParseError('empty sequence set');
  return s.split(',').map((item) => {
    const [a, b, extra] = item.split(':');
    if (extra !== undefined) throw new ParseError(`bad range: ${item}`);
    const x = bound(a!);
    const y = b === undefined ? x : bound(b);
    return x <= y ? [x, y] : [y, x];
  });
}

export const isSequenceSet = (s: string): boolean => /^(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*$/.test(s);

/** Indexes (0-based, ascending, unique) of the messages a set of sequence numbers names. */
export function bySequence(set: SequenceSet, count: number): number[] {
  // "*" is the highest number in use, so "*:2" in a mailbox of one message names message 1
  return union(set.map(([a, b]) => {
    const x = a === Infinity ? count : a;
    const y = b === Infinity ? count : b;
    return [Math.max(1, Math.min(x, y)) - 1, Math.min(Math.max(x, y), count)];
  }));
}

/** Indexes of the messages whose UIDs the set names; "*" is the highest UID in the view. */
export function byUid(set: SequenceSet, messages: readonly MessageMeta[]): number[] {
  if (messages.length === 0) return [];
  const max = messages[messages.length - 1]!.uid;
  return union(set.map(([a, b]) => {
    const x = a === Infinity ? max : a;
    const y = b === Infinity ? max : b;
    return [lowerBoundByUid(messages, Math.min(x, y)), lowerBoundByUid(messages, Math.max(x, y) + 1)];
  }));
}

/**
 * Half-open spans [from, to) sorted and merged where they overlap or touch: the work a set costs is
 * then its distinct spans plus the messages it names, however often it repeats itself (`UID SEARCH
 * UID 1:*,1:*,…` of 1 MB walked the whole mailbox once per item and stalled the server 3 s).
 */
function mergeSpans(spans: readonly [number, number][]): [number, number][] {
  const sorted = spans.filter(([a, b]) => a < b).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** A membership test for numbers in a set ("*" as `max`), O(log k) per number after one merge. */
export function setMembership(set: SequenceSet, max: number): (n: number) => boolean {
  const spans = mergeSpans(set.map(([a, b]) => {
    const x = a === Infinity ? max : a;
    const y = b === Infinity ? max : b;
    return [Math.min(x, y), Math.max(x, y) + 1];
  }));
  return (n) => {
    let lo = 0;
    let hi = spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (spans[mid]![1] <= n) lo = mid + 1;
      else hi = mid;
    }
    return lo < spans.length && spans[lo]![0] <= n;
  };
}

/** The indexes in half-open spans [from, to), ascending and unique. */
function union(spans: readonly [number, number][]): number[] {
  const merged = mergeSpans(spans);
  const out = new Array<number>(merged.reduce((n, [a, b]) => n + b - a, 0));
  let k = 0;
  for (const [from, to] of merged) for (let i = from; i < to; i++) out[k++] = i;
  return out;
}

/**
 * UIDs the set names (below `uidNext`) that no live message holds: what a client must treat as
 * vanished when the expunge log no longer reaches back to its modseq (RFC 7162 3.2.5.2).
 */
export function absentUids(set: SequenceSet, messages: readonly MessageMeta[], uidNext: number): SequenceSet {
  const out: SequenceSet = [];
  const spans = mergeSpans(set.map(([a0, b0]) => [Math.max(1, a0 === Infinity ? uidNext - 1 : a0), Math.min(uidNext - 1, b0) + 1]));
  for (const [a, end] of spans) {
    const b = end - 1;
    let next = a;
    for (let i = lowerBoundByUid(messages, a); i < messages.length && messages[i]!.uid <= b; i++) {
      if (messages[i]!.uid > next) out.push([next, messages[i]!.uid - 1]);
      next = messages[i]!.uid + 1;
    }
    if (next <= b) out.push([next, b]);
  }
  return out;
}

export const formatRanges = (set: SequenceSet): string => set.map(([a, b]) => (a === b ? `${a}` : `${a}:${b}`)).join(',');

/** Ascending numbers as a compact set: 1,2,3,5 → "1:3,5". */
export function formatSet(nums: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < nums.length; ) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j]! + 1) j++;
    out.push(i === j ? String(nums[i]) : `${nums[i]}:${nums[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
