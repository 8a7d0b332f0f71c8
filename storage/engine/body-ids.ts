// Body ids that sort in the order the bodies were written. LevelDB is a log-structured merge tree:
// with random ids, each flush of new bodies spanned the key range of all older ones, so compaction
// rewrote old mail again and again (in the background, on the cores that serve clients) and a read
// looked into several levels. Ids in write order put new bodies after the old ones; compaction then
// moves files of old mail down without rewriting them, and a read finds its chunk in one file.
// The format — TIME_DIGITS hex digits of time, then a random tail — is known here and only here.
import { randomBytes } from 'node:crypto';

const TIME_DIGITS = 14;
const TAIL_BYTES = 6;
const ORDERED_BODY_ID = new RegExp(`^[0-9a-f]{${TIME_DIGITS}}[A-Za-z0-9_-]{${(TAIL_BYTES * 4) / 3}}$`);

export class BodyIdSource {
  private last = 0;

  next(): string {
    // Milliseconds × 1024 leaves room for 1,024 ids a millisecond and stays an exact integer
    // (2^53 ≈ 9·10^15; Date.now() × 1024 ≈ 1.8·10^15) until the year 2248. Strictly increasing in
    // one process; the random tail keeps ids unique if the clock went back across a restart.
    this.last = Math.max(Date.now() * 1024, this.last + 1);
    return this.last.toString(16).padStart(TIME_DIGITS, '0') + randomBytes(TAIL_BYTES).toString('base64url');
  }
}

/**
 * The id with its random tail first, for keys that must not sort in write order: references to a
 * body are deleted in bulk by an expunge, and keyed in write order a mass expunge left thousands of
 * reference tombstones in a row, which every "is this body still used?" lookup of the reclaimer
 * stepped over (a 100k-message deletion tripled other accounts' p99, bench/incident-replay.ts).
 * Ids of older stores (random, 12 characters) are returned as they are, so their keys stay put.
 */
export function scatteredBodyId(bodyId: string): string {
  return ORDERED_BODY_ID.test(bodyId) ? bodyId.slice(TIME_DIGITS) + bodyId.slice(0, TIME_DIGITS) : bodyId;
}
