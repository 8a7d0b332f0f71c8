// Pacing of mass changes (invariants 8 and 10): a client that flags, expunges or moves 100k messages
// gets them done in many small atomic writes, with rests between them, so every other account's
// sessions keep their latency.

/**
 * Messages per atomic write when a client changes or expunges many at once. Each slice holds the
 * event loop for its whole length (about 1–2 ms at 100 on the bench machine); at 200 the slices of
 * a 100k-message deletion showed in other accounts' p99 (bench/incident-replay.ts).
 */
export const SLICE = 100;
/**
 * Rest after a slice, as a multiple of the time it took: 9 = the account gets at most a tenth of the
 * event loop. With 3 (a quarter), a 100k-message deletion doubled the p99 of 200 other accounts'
 * POP3 sessions on a 2-core machine (bench/incident-replay.ts); the deleting client waits longer.
 */
const SLICE_REST = 9;

/**
 * Runs `fn` on sorted, unique UIDs a slice at a time; each slice is its own atomic, durable write.
 * Building one write for 100k messages would hold the event loop — every other account — for
 * seconds (the incident's "deletes slow everyone down"). Between slices the account rests SLICE_REST
 * times as long as the slice took, so one account's mass deletion gets at most a tenth of the
 * server (invariant 8).
 */
export async function inSlices(uids: readonly number[], fn: (slice: number[]) => Promise<unknown>): Promise<void> {
  const sorted = ascendingUnique(uids);
  for (let i = 0; i < sorted.length; i += SLICE) {
    const t0 = performance.now();
    await fn(sorted.slice(i, i + SLICE));
    if (i + SLICE < sorted.length) await new Promise((r) => setTimeout(r, SLICE_REST * (performance.now() - t0)));
  }
}

/**
 * The UIDs in ascending order, each once, in an array of their own (the slices are cut across awaits:
 * the caller's array may change meanwhile). What sessions pass is nearly always in order already (a
 * set resolved against the mailbox): one pass says so and a copy follows, where a Set and a sort of
 * 200k UIDs took the event loop 35-45 ms before the first slice; otherwise a typed array sorts them.
 */
function ascendingUnique(uids: readonly number[]): number[] {
  let ascending = true;
  for (let i = 1; i < uids.length && ascending; i++) ascending = uids[i - 1]! < uids[i]!;
  return ascending ? uids.slice() : Array.from(Uint32Array.from(new Set(uids)).sort());
}
