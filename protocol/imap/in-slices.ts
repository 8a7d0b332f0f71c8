// Work over every message of a large mailbox, in slices that give the event loop back between them
// (invariant 10: long work yields): mapping, joining an answer's numbers, and sorting.
//
// Array.prototype.sort is one synchronous call: SORT (DATE) on 100,000 messages held every session
// for some 150 ms, on a million for seconds. Here runs of RUN items are sorted with it (a few ms
// each), then merged pairwise, and the loop is given back every RUN items placed. The merging costs
// about 30% more CPU than one Array.prototype.sort of the whole (100,000 entries with two keys:
// 270 ms against 210): the price of no session waiting more than a step.

/** Items mapped, joined, sorted, merged or searched between two yields. */
export const RUN = 4096;

/** Gives the event loop back: what waits for I/O runs before the work goes on. */
export const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `items.map(fn)`, giving the loop back every RUN items. */
export async function mapInSlices<T, U>(items: readonly T[], fn: (item: T) => U): Promise<U[]> {
  const out = new Array<U>(items.length);
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % RUN === 0) await breathe();
    out[i] = fn(items[i]!);
  }
  return out;
}

/**
 * `items.map(fn).join('')`, RUN items at a time: the numbers of a SEARCH answer on a large mailbox
 * (200,000 of them held the loop some 40 ms in one piece).
 */
export async function joinInSlices<T>(items: readonly T[], fn: (item: T) => string): Promise<string> {
  const parts: string[] = [];
  for (let from = 0; from < items.length; from += RUN) {
    if (from > 0) await breathe();
    let part = '';
    for (let i = from; i < Math.min(from + RUN, items.length); i++) part += fn(items[i]!);
    parts.push(part);
  }
  return parts.join('');
}

/** `items` ordered by `cmp` (a new array; stable: equal items keep their order). */
export async function sortInSlices<T>(items: readonly T[], cmp: (a: T, b: T) => number): Promise<T[]> {
  let from = items.slice();
  if (from.length <= RUN) return from.sort(cmp);
  for (let i = 0; i < from.length; i += RUN) {
    const run = from.slice(i, i + RUN).sort(cmp);
    for (let k = 0; k < run.length; k++) from[i + k] = run[k]!;
    await breathe();
  }
  let to = new Array<T>(from.length);
  for (let width = RUN; width < from.length; width *= 2) {
    let placed = 0;
    for (let lo = 0; lo < from.length; lo += 2 * width) {
      const mid = Math.min(lo + width, from.length);
      const hi = Math.min(lo + 2 * width, from.length);
      let a = lo;
      let b = mid;
      for (let k = lo; k < hi; k++) {
        // from the left run on ties: stable
        to[k] = b >= hi || (a < mid && cmp(from[a]!, from[b]!) <= 0) ? from[a++]! : from[b++]!;
        if (++placed % RUN === 0) await breathe();
      }
    }
    [from, to] = [to, from];
  }
  return from;
}
