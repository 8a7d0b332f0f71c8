// Sorting that gives the event loop back (invariant 10: long work yields). Array.prototype.sort is
// one synchronous call: SORT (DATE) on 100,000 messages held every session for some 150 ms, on a
// million for seconds. Here runs of RUN items are sorted with it (a few ms each), then merged pairwise,
// and the loop is given back every RUN items placed. The merging costs about 30% more CPU than one
// Array.prototype.sort of the whole (100,000 entries with two keys: 270 ms against 210): the price of
// no session waiting more than a step.
/** Items sorted, or merged, between two yields. */
export const RUN = 4096;

/** `items.map(fn)`, giving the loop back every RUN items. */
export async function mapInSlices<T, U>(items: readonly T[], fn: (item: T) => U): Promise<U[]> {
  const out = new Array<U>(items.length);
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % RUN === 0) await new Promise(setImmediate);
    out[i] = fn(items[i]!);
  }
  return out;
}

/** `items` ordered by `cmp` (a new array; stable: equal items keep their order). */
export async function sortInSlices<T>(items: readonly T[], cmp: (a: T, b: T) => number): Promise<T[]> {
  let from = items.slice();
  if (from.length <= RUN) return from.sort(cmp);
  for (let i = 0; i < from.length; i += RUN) {
    const run = from.slice(i, i + RUN).sort(cmp);
    for (let k = 0; k < run.length; k++) from[i + k] = run[k]!;
    await new Promise(setImmediate);
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
        if (++placed % RUN === 0) await new Promise(setImmediate);
      }
    }
    [from, to] = [to, from];
  }
  return from;
}
